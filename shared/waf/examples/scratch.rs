use std::path::Path;
use sitegroup_waf::ftw;
fn main() {
    let engine = ftw::load_rules(Path::new("/work/shared/corpora/crs-v4"), ftw::CRS_TEST_SETUP).unwrap();
    let mut tx = engine.transaction();
    tx.process_uri(b"POST", b"/post", b"HTTP/1.1");
    tx.add_request_header(b"Host", b"localhost");
    tx.add_request_header(b"Content-Type", b"application/xml");
    let i = tx.process_request_headers();
    tx.append_request_body(br#"<?xml version="1.0"?><xml><element attribute_name="attribute_value">ProcessBuilder.evil.clonetransformer</element></xml>"#);
    let j = tx.process_request_body();
    println!("after phase2 {:?}", j);
    println!("after phase1 {:?}\n{}", i, tx.debug_dump().lines().take(3).collect::<Vec<_>>().join("\n"));
}
