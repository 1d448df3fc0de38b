//! Message XML: parsing into the arena tree, SOAP helpers, an edit and re-serialization, and the
//! streaming matcher, on arbitrary bytes.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use mint::xml::{Content, Document, StreamPath};

fuzz_target!(|data: &[u8]| {
    let stream = StreamPath::parse("//order[1]/symbol", |_| Some(""));
    if let Some(s) = &stream {
        let _ = s.first_string(data);
    }
    let Ok(doc) = Document::parse(Bytes::copy_from_slice(data)) else { return };
    let _ = doc.soap_version();
    let _ = doc.soap_header_blocks().count();
    let root = doc.root_element();
    let mut ed = doc.edit();
    let _ = ed.append_child(root, Content::Text("x<&>".into()));
    let out = ed.finish();
    // What the editor writes must parse again.
    assert!(Document::parse(out).is_ok(), "edited output does not re-parse");
});
