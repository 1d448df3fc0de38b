#!/usr/bin/env bash
# Regenerates the keystores the TLS tests use, with Java's keytool (JKS, PKCS#12 as Java writes
# them) and openssl (PEM for curl and the test backends). Not run by CI: the files are committed.
# Everything is valid for 100 years and signed by one test CA; passwords are WSO2's defaults.
set -euo pipefail
cd "$(dirname "$0")"
rm -f ./*.jks ./*.p12 ./*.pem ./*.csr ./*.crt
P=wso2carbon
V=36500
kt() { keytool -noprompt "$@"; }

# The test CA.
kt -genkeypair -storetype PKCS12 -keystore ca.p12 -storepass "$P" -alias ca -keyalg RSA -keysize 2048 \
   -dname "CN=mint test CA" -ext bc:c -validity $V
kt -exportcert -rfc -keystore ca.p12 -storepass "$P" -alias ca -file ca.pem

# sign NAME SAN: a key in NAME.jks (JKS, alias wso2carbon) with a CA-signed certificate and its chain.
sign() {
    local name=$1 san=$2 dn=$3
    kt -genkeypair -storetype JKS -keystore "$name.jks" -storepass "$P" -keypass "$P" -alias wso2carbon \
       -keyalg RSA -keysize 2048 -dname "$dn" -validity $V
    kt -certreq -keystore "$name.jks" -storepass "$P" -alias wso2carbon -file "$name.csr"
    kt -gencert -keystore ca.p12 -storepass "$P" -alias ca -infile "$name.csr" -outfile "$name.crt" -rfc \
       -validity $V ${san:+-ext "san=$san"}
    kt -importcert -storetype JKS -keystore "$name.jks" -storepass "$P" -alias ca -file ca.pem
    kt -importcert -storetype JKS -keystore "$name.jks" -storepass "$P" -keypass "$P" -alias wso2carbon \
       -file "$name.crt"
    kt -delete -storetype JKS -keystore "$name.jks" -storepass "$P" -alias ca
    rm -f "$name.csr"
}
# The listener's key (localhost), as JKS and as PKCS#12 (keytool's own conversion).
sign server "dns:localhost,ip:127.0.0.1" "CN=localhost, O=mint test"
kt -importkeystore -srckeystore server.jks -srcstorepass "$P" -srcstoretype JKS \
   -destkeystore server.p12 -deststorepass "$P" -deststoretype PKCS12
# A second listener key (the certificate-reload test swaps it in).
sign server2 "dns:localhost,ip:127.0.0.1" "CN=localhost, O=mint test, OU=second"
# A client's key (mutual TLS), and its PEM form for curl.
sign client "" "CN=mint test client"
kt -importkeystore -srckeystore client.jks -srcstorepass "$P" -srcstoretype JKS \
   -destkeystore client.p12 -deststorepass "$P" -deststoretype PKCS12
openssl pkcs12 -in client.p12 -passin pass:$P -nokeys -out client-cert.pem
openssl pkcs12 -in client.p12 -passin pass:$P -nocerts -nodes -out client-key.pem
# A backend's key (localhost) in PEM, for the test backend that asks for client certificates.
openssl pkcs12 -in server.p12 -passin pass:$P -nokeys -out server-cert.pem
openssl pkcs12 -in server.p12 -passin pass:$P -nocerts -nodes -out server-key.pem
# The truststore: the CA as a trusted-certificate entry (JKS, as WSO2's client-truststore.jks).
kt -importcert -storetype JKS -keystore truststore.jks -storepass "$P" -alias mintca -file ca.pem
rm -f ./*.crt
ls -l
