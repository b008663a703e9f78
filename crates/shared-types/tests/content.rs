//! The one rule for a message's content (`content_problem`), fed hostile content.

use shared_types::{content_problem, ContentBlock, ImageSource, MAX_IMAGES, MAX_IMAGE_BYTES, MAX_MESSAGE_BYTES};

fn b64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let v = (c[0] as u32) << 16 | (*c.get(1).unwrap_or(&0) as u32) << 8 | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            out.push(if i <= c.len() { A[(v >> (18 - 6 * i) & 63) as usize] as char } else { '=' });
        }
    }
    out
}

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
const JPEG: &[u8] = b"\xff\xd8\xff\xe0\0\x10JFIF\0";
const GIF: &[u8] = b"GIF89a\x01\0\x01\0\0\0";
const WEBP: &[u8] = b"RIFF\x24\0\0\0WEBPVP8 ";

fn image(media_type: &str, data: String) -> ContentBlock {
    ContentBlock::Image { source: ImageSource { kind: "base64".into(), media_type: media_type.into(), data } }
}

fn padded(head: &[u8], len: usize) -> Vec<u8> {
    let mut v = head.to_vec();
    v.resize(len, 7);
    v
}

#[test]
fn good_content_passes() {
    let cases: Vec<(&str, Vec<ContentBlock>)> = vec![
        ("text", vec![ContentBlock::text("hello")]),
        ("png alone", vec![image("image/png", b64(PNG))]),
        ("jpeg and text", vec![ContentBlock::text("look"), image("image/jpeg", b64(JPEG))]),
        ("gif", vec![image("image/gif", b64(GIF))]),
        ("webp", vec![image("image/webp", b64(WEBP))]),
        ("one padding byte", vec![image("image/png", b64(&padded(PNG, 17)))]),
        ("two padding bytes", vec![image("image/png", b64(&padded(PNG, 16)))]),
        ("image at the size limit", vec![image("image/png", b64(&padded(PNG, MAX_IMAGE_BYTES)))]),
        ("the most images", (0..MAX_IMAGES).map(|_| image("image/png", b64(PNG))).collect()),
    ];
    for (name, content) in cases {
        assert_eq!(content_problem(&content), None, "{name}");
    }
}

#[test]
fn hostile_content_is_refused_with_a_reason() {
    let png = b64(PNG);
    let url = |kind: &str| {
        ContentBlock::Image { source: ImageSource { kind: kind.into(), media_type: "image/png".into(), data: png.clone() } }
    };
    let cases: Vec<(&str, Vec<ContentBlock>, &str)> = vec![
        ("nothing", vec![], "empty"),
        ("blank text", vec![ContentBlock::text(" \n\t ")], "empty"),
        ("empty data", vec![image("image/png", String::new())], "not base64"),
        ("bad base64 character", vec![image("image/png", format!("{}*AAA", &png[..8]))], "not base64"),
        ("base64 with a newline", vec![image("image/png", format!("{}\n{}", &png[..8], &png[8..]))], "not base64"),
        ("length not a multiple of 4", vec![image("image/png", png[..png.len() - 1].to_string())], "not base64"),
        ("padding in the middle", vec![image("image/png", format!("QQ==QQ=="))], "not base64"),
        ("three padding characters", vec![image("image/png", "Q===".into())], "not base64"),
        ("url-safe alphabet", vec![image("image/png", b64(b"\x89PNG\r\n\x1a\n\xfb\xff\xfe").replace('+', "-").replace('/', "_"))], "not base64"),
        ("a data: URL", vec![image("image/png", format!("data:image/png;base64,{png}"))], "not base64"),
        ("missing media type", vec![image("", png.clone())], "PNG, JPEG, GIF or WebP"),
        ("svg", vec![image("image/svg+xml", b64(b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>"))], "PNG, JPEG, GIF or WebP"),
        ("upper case type", vec![image("IMAGE/PNG", png.clone())], "PNG, JPEG, GIF or WebP"),
        ("type with parameters", vec![image("image/png;charset=utf-8", png.clone())], "PNG, JPEG, GIF or WebP"),
        ("pdf", vec![image("application/pdf", b64(b"%PDF-1.7\n%\xe2\xe3"))], "PNG, JPEG, GIF or WebP"),
        ("url source", vec![url("url")], "only base64"),
        ("empty source kind", vec![url("")], "only base64"),
        ("png labelled jpeg", vec![image("image/jpeg", png.clone())], "not what its media type says"),
        ("html labelled png", vec![image("image/png", b64(b"<html><script>x</script>"))], "not what its media type says"),
        ("riff that is not webp", vec![image("image/webp", b64(b"RIFF\x24\0\0\0WAVEfmt "))], "not what its media type says"),
        ("too short to be a png", vec![image("image/png", b64(b"\x89P"))], "not what its media type says"),
        ("one byte over the image limit", vec![image("image/png", b64(&padded(PNG, MAX_IMAGE_BYTES + 1)))], "over the limit of 1.5 MB"),
        ("too many images", (0..=MAX_IMAGES).map(|_| image("image/png", png.clone())).collect(), "at most 4 images"),
        ("a bad image after a good one", vec![image("image/png", png.clone()), image("image/gif", png.clone())], "image 2:"),
        ("a huge text", vec![ContentBlock::text("x".repeat(MAX_MESSAGE_BYTES))], "over the limit of 4 MB"),
        (
            "images that fit alone but not together",
            (0..3).map(|_| image("image/png", b64(&padded(PNG, MAX_IMAGE_BYTES)))).collect(),
            "over the limit of 4 MB",
        ),
    ];
    for (name, content, expected) in cases {
        let problem = content_problem(&content).unwrap_or_else(|| panic!("{name}: accepted"));
        assert!(problem.contains(expected), "{name}: {problem:?} does not say {expected:?}");
    }
}

#[test]
fn the_size_bound_is_never_below_the_json_size() {
    let png = b64(PNG);
    let texts = ["", "plain", "\u{1}\u{2}\"\\\n\t", "é中😀", &"\u{0}".repeat(1000), &"x\"".repeat(500)];
    for text in texts {
        for images in 0..=MAX_IMAGES {
            let mut content = vec![ContentBlock::text(format!("{text}."))];
            content.extend((0..images).map(|_| image("image/png", png.clone())));
            let json = serde_json::to_string(&content).unwrap().len();
            // Scale the text so that its JSON is just over the limit: the bound must refuse it.
            let reps = MAX_MESSAGE_BYTES / json.max(1) + 1;
            let mut big = vec![ContentBlock::text(format!("{text}.").repeat(reps))];
            big.extend((0..images).map(|_| image("image/png", png.clone())));
            if serde_json::to_string(&big).unwrap().len() > MAX_MESSAGE_BYTES {
                assert!(content_problem(&big).is_some(), "{text:?} x{reps} with {images} images");
            }
        }
    }
}
