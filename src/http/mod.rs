//! HTTP/1.1 on glommio: mint's own server and client on httparse (hyper serves only the internal
//! API and the load tests' echo backend).
//!
//! - [`io`]: reading into a buffer's spare capacity, the hyper ⇄ futures-io adapter and a glommio
//!   timer for hyper (the internal API).
//! - [`h1`]: the server side of the protocol: request heads, request bodies, answer framing.
//! - [`body`]: the one body type mint sends, which streams an incoming body through untouched.
//! - [`tls`]: rustls server and client configurations (PEM files or a generated self-signed cert).
//! - [`upstream`]: the [`upstream::Upstream`] trait the engine sends backend requests through.
//! - [`client`]: the per-shard keep-alive connection pool to backends (the production `Upstream`).
//! - [`conn`]: one exchange on a backend connection (request writing, response parsing, bodies).
//! - [`server`]: serving one accepted connection with mint's limits.
//! - [`watch`]: noticing that a client left while its request is served.
//! - [`rules`]: HTTP/1.1 rules beyond framing (transfer codings, `Host`, dot-segments).

/// The `SOAPAction` header's name (not one of `http`'s standard names).
pub const SOAPACTION: http::HeaderName = http::HeaderName::from_static("soapaction");

/// The media type of a `Content-Type` value: what comes before its parameters, without the
/// whitespace around it (`text/xml; charset=UTF-8` gives `text/xml`). One byte search, where
/// `split(';')` and `trim()` cost about 150 instructions per call.
pub fn media_type(content_type: &str) -> &str {
    let end = memchr::memchr(b';', content_type.as_bytes()).unwrap_or(content_type.len());
    content_type[..end].trim_ascii()
}

/// Sets `name` to `value` alone, as `HeaderMap::insert` does. When the map already holds exactly
/// one value for `name`, the value is replaced in place: `insert` makes room for a new entry before
/// it looks the name up, so replacing a value in a full map (a parsed request's map is made to its
/// size) would grow and rehash it.
pub fn set_header(map: &mut http::HeaderMap, name: http::HeaderName, value: http::HeaderValue) {
    let mut all = map.get_all(&name).iter();
    if let (Some(_), None) = (all.next(), all.next()) {
        if let Some(v) = map.get_mut(&name) {
            *v = value;
            return;
        }
    }
    map.insert(name, value);
}

pub mod body;
pub mod client;
pub mod conn;
pub mod h1;
pub mod io;
pub mod rules;
pub mod server;
pub mod tls;
pub mod upstream;
pub mod watch;

/// Runs `fut` to completion on a glommio executor built on the calling thread, with the least
/// io_uring memory glommio accepts (tests run in parallel under an 8 MiB `RLIMIT_MEMLOCK`).
#[cfg(test)]
pub fn run_local<F: std::future::Future>(fut: F) -> F::Output {
    glommio::LocalExecutorBuilder::new(glommio::Placement::Unbound)
        .io_memory(64 * 1024)
        .ring_depth(16)
        .make()
        .expect("a test executor (io_uring; check RLIMIT_MEMLOCK)")
        .run(fut)
}

/// Puts `item` in a shard's pool of things kept for reuse (emptied header maps, written heads'
/// buffers), unless the pool holds `max` already or is in use.
pub(crate) fn keep_for_reuse<T>(
    pool: &'static std::thread::LocalKey<std::cell::RefCell<Vec<T>>>,
    item: T,
    max: usize,
) {
    pool.with(|p| {
        if let Ok(mut p) = p.try_borrow_mut() {
            if p.len() < max {
                p.push(item);
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::media_type;
    use http::header::{HeaderMap, HeaderValue, HOST};

    #[test]
    fn the_media_type_is_what_comes_before_the_parameters() {
        for (ct, want) in [
            ("text/xml; charset=UTF-8", "text/xml"),
            ("text/xml", "text/xml"),
            ("  application/json  ", "application/json"),
            ("text/xml\t;q=1", "text/xml"),
            ("a/b;", "a/b"),
            (";charset=x", ""),
            ("", ""),
        ] {
            assert_eq!(media_type(ct), want, "{ct:?}");
            // What `split(';')` and `trim()` gave for the visible ASCII of a header value.
            assert_eq!(media_type(ct), ct.split(';').next().unwrap_or("").trim());
        }
    }

    #[test]
    fn set_header_replaces_without_growing_a_full_map() {
        let mut map = HeaderMap::with_capacity(2);
        map.insert(HOST, HeaderValue::from_static("a"));
        while map.len() < map.capacity() {
            let name = format!("x-{}", map.len());
            map.insert(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_static("v"),
            );
        }
        let cap = map.capacity();
        super::set_header(&mut map, HOST, HeaderValue::from_static("b"));
        assert_eq!(
            map.capacity(),
            cap,
            "replacing the one value must not grow the map"
        );
        assert_eq!(map[HOST], "b");
        // Two values: replaced by one, as insert does.
        map.append(HOST, HeaderValue::from_static("c"));
        super::set_header(&mut map, HOST, HeaderValue::from_static("d"));
        assert_eq!(map.get_all(HOST).iter().collect::<Vec<_>>(), ["d"]);
        // Absent: added.
        let mut empty = HeaderMap::new();
        super::set_header(&mut empty, HOST, HeaderValue::from_static("e"));
        assert_eq!(empty[HOST], "e");
    }
}
