//! Media through the real gateway: an image larger than the WAF's inspection buffer is
//! uploaded through the admin hostname, stored, published, and served to visitors from the
//! site's hostname with its bytes intact; a PHP file disguised as an image is refused by the
//! WAF or the CMS and never becomes reachable.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;

fn multipart(csrf: &str, name: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----sitegroupe2e";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// A valid 1×1 PNG made about `size` bytes large by a text chunk (hand-built: the test crate
/// has no image encoder).
fn big_png(size: usize) -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let chunk = |png: &mut Vec<u8>, kind: &[u8], data: &[u8]| {
        png.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut crc_input = kind.to_vec();
        crc_input.extend_from_slice(data);
        png.extend_from_slice(&crc_input);
        png.extend_from_slice(&crc32(&crc_input).to_be_bytes());
    };
    // 1×1 RGB pixel.
    chunk(&mut png, b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0]);
    let filler: Vec<u8> = (0..size).map(|i| b"abcdefghij"[i % 10]).collect();
    let mut text = b"Comment\0".to_vec();
    text.extend_from_slice(&filler);
    chunk(&mut png, b"tEXt", &text);
    // zlib stream of one scanline: filter 0 + 3 bytes, stored block.
    chunk(
        &mut png,
        b"IDAT",
        &[
            0x78, 0x01, 0x01, 0x04, 0x00, 0xfb, 0xff, 0x00, 0xff, 0x00, 0x00, 0x03, 0x01, 0x01,
            0x00,
        ],
    );
    chunk(&mut png, b"IEND", &[]);
    png
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[tokio::test(flavor = "multi_thread")]
async fn a_large_image_goes_through_the_gateway_and_is_served_intact() {
    let p = Platform::start().await;
    let c = p.client();
    let csrf = sign_in_first_time(&p, &c).await;
    let png = big_png(300_000);
    let (ct, body) = multipart(&csrf, "banner.png", &png);
    let r = c
        .post(p.url(ADMIN, "/media/upload/1"))
        .header("content-type", ct)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let page = r.text().await.unwrap();
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("已上传：banner.png"), "{page}");
    let start = page.find("<code>/media/").unwrap() + "<code>".len();
    let path = &page[start..start + page[start..].find('<').unwrap()];
    let (status, _) = p
        .wait_for(PORTAL, path, Duration::from_secs(15), |s, _| s == 200)
        .await;
    assert_eq!(status, 200);
    let served = c
        .get(p.url(PORTAL, path))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(
        served.as_ref(),
        png.as_slice(),
        "bytes intact through the gateway"
    );

    // A PHP web shell named like an image: refused (by the WAF or the CMS), never served.
    let (ct, body) = multipart(
        &csrf,
        "avatar.php.png",
        b"GIF89a<?php @eval($_POST['x']); ?>",
    );
    let r = c
        .post(p.url(ADMIN, "/media/upload/1"))
        .header("content-type", ct)
        .body(body)
        .send()
        .await
        .unwrap();
    assert!(matches!(r.status().as_u16(), 403 | 422), "{}", r.status());
    p.stop().await;
}
