//! A private ActiveMQ broker for a test: Debian's `activemq` package (installed by `.ci/run`),
//! run as a broker of its own (its own configuration, KahaDB folder and ports) with OpenWire and
//! STOMP connectors on 127.0.0.1. Stopped (and its folder removed) on drop.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::{next_offset, wait_port};

const JAR: &str = "/usr/share/activemq/bin/activemq.jar";

pub struct ActiveMq {
    child: Option<Child>,
    /// The OpenWire port (what `java.naming.provider.url` names).
    pub openwire: u16,
    /// The STOMP port mint uses.
    pub stomp: u16,
    dir: PathBuf,
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

impl ActiveMq {
    pub fn start() -> ActiveMq {
        assert!(
            std::path::Path::new(JAR).exists(),
            "ActiveMQ is needed for this test (.ci/run installs Debian's activemq)"
        );
        let dir = std::env::temp_dir().join(format!(
            "mint-activemq-{}-{}",
            std::process::id(),
            next_offset()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("conf")).unwrap();
        let (openwire, stomp) = (free_port(), free_port());
        std::fs::write(
            dir.join("conf/activemq.xml"),
            format!(
                r#"<beans xmlns="http://www.springframework.org/schema/beans" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xsi:schemaLocation="http://www.springframework.org/schema/beans http://www.springframework.org/schema/beans/spring-beans-2.0.xsd
  http://activemq.apache.org/schema/core http://activemq.apache.org/schema/core/activemq-core.xsd">
  <broker xmlns="http://activemq.apache.org/schema/core" useJmx="false" brokerName="mint-test" dataDirectory="{d}/data">
    <persistenceAdapter><kahaDB directory="{d}/data/kahadb"/></persistenceAdapter>
    <transportConnectors>
      <transportConnector name="openwire" uri="tcp://127.0.0.1:{openwire}"/>
      <transportConnector name="stomp" uri="stomp://127.0.0.1:{stomp}"/>
    </transportConnectors>
  </broker>
</beans>
"#,
                d = dir.display()
            ),
        )
        .unwrap();
        let mut b = ActiveMq {
            child: None,
            openwire,
            stomp,
            dir,
        };
        b.start_again();
        b
    }

    /// Starts the broker (again, after [`ActiveMq::stop`]) with its ports and data.
    pub fn start_again(&mut self) {
        let d = self.dir.display().to_string();
        let child = Command::new("java")
            .args(["-Xms32m", "-Xmx256m"])
            .arg("-Dactivemq.home=/usr/share/activemq")
            .arg(format!("-Dactivemq.base={d}"))
            .arg(format!("-Dactivemq.conf={d}/conf"))
            .arg(format!("-Dactivemq.data={d}/data"))
            .args(["-jar", JAR, "start"])
            .arg(format!("xbean:file:{d}/conf/activemq.xml"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        assert!(
            wait_port(self.stomp, Duration::from_secs(60)),
            "ActiveMQ did not start"
        );
    }

    /// Kills the broker (persistent messages survive in KahaDB).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for ActiveMq {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
