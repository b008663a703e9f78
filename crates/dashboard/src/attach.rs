//! Attaching images to a message: the rules the composer applies before the browser's canvas
//! resizes a picture (pure, tested natively), and, in the browser, the resizing itself.
//!
//! A picked, pasted or photographed file must say it is an image and be at most
//! [`MAX_PICK_BYTES`]; it is decoded by the browser, and kept as it is when it is a PNG, JPEG,
//! GIF or WebP of at most [`MAX_SIDE`] px on its long side and [`TARGET_BYTES`], else drawn on a
//! canvas at most [`MAX_SIDE`] px long and re-encoded as JPEG until it fits [`TARGET_BYTES`].
//! What is sent is then checked by `shared_types::content_problem`, the rule the Durable Object
//! and the gateway apply again.

use shared_types::IMAGE_MEDIA_TYPES;

/// The long side of a sent image, in px (the Messages API scales larger images down anyway).
pub const MAX_SIDE: u32 = 1568;
/// What a re-encoded image aims for, in bytes.
pub const TARGET_BYTES: usize = 700 * 1024;
/// The largest file the composer reads at all.
pub const MAX_PICK_BYTES: f64 = 20.0 * 1024.0 * 1024.0;

/// Whether a file may be read as a picture; else what to tell the user.
pub fn pick_problem(name: &str, media_type: &str, size: f64) -> Option<String> {
    let name = if name.is_empty() { "the pasted item" } else { name };
    if !media_type.starts_with("image/") {
        return Some(format!("{name} is not an image: attach a PNG, JPEG, GIF or WebP"));
    }
    (size > MAX_PICK_BYTES).then(|| {
        format!("{name} is {:.1} MB: pick an image under {:.0} MB", size / 1048576.0, MAX_PICK_BYTES / 1048576.0)
    })
}

/// Whether a decoded picture can be sent as it is, without re-encoding.
pub fn send_as_is(media_type: &str, size: f64, width: u32, height: u32) -> bool {
    IMAGE_MEDIA_TYPES.contains(&media_type) && size <= TARGET_BYTES as f64 && width.max(height) <= MAX_SIDE
}

/// The size to draw a `width` x `height` picture at: at most `max` px on the long side, the
/// aspect kept, never 0.
pub fn fit(width: u32, height: u32, max: u32) -> (u32, u32) {
    let long = width.max(height);
    if long <= max {
        return (width.max(1), height.max(1));
    }
    let scale = |side: u32| ((u64::from(side) * u64::from(max) + u64::from(long) / 2) / u64::from(long)).max(1) as u32;
    (scale(width), scale(height))
}

/// Standard base64 with padding.
pub fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for c in bytes.chunks(3) {
        let v = u32::from(c[0]) << 16 | u32::from(*c.get(1).unwrap_or(&0)) << 8 | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            out.push(if i <= c.len() { A[(v >> (18 - 6 * i) & 63) as usize] as char } else { '=' });
        }
    }
    out
}

#[cfg(target_arch = "wasm32")]
pub use browser::prepare;

#[cfg(target_arch = "wasm32")]
mod browser {
    use leptos::prelude::*;
    use shared_types::{content_problem, ContentBlock, ImageSource};
    use wasm_bindgen::JsCast;
    use wasm_bindgen_futures::JsFuture;
    use web_sys::{CanvasRenderingContext2d, File, HtmlCanvasElement, HtmlImageElement, Url};

    use super::*;

    /// A picked, pasted or photographed file as an image block the session will take, or what to
    /// tell the user.
    pub async fn prepare(file: File) -> Result<ImageSource, String> {
        let name = file.name();
        if let Some(problem) = pick_problem(&name, &file.type_(), file.size()) {
            return Err(problem);
        }
        let unreadable = || format!("{name} could not be read as an image: attach a PNG, JPEG, GIF or WebP");
        let url = Url::create_object_url_with_blob(&file).map_err(|_| unreadable())?;
        let img = HtmlImageElement::new().map_err(|_| unreadable())?;
        img.set_src(&url);
        let decoded = JsFuture::from(img.decode()).await;
        let _ = Url::revoke_object_url(&url);
        decoded.map_err(|_| unreadable())?;
        let (w, h) = (img.natural_width(), img.natural_height());
        if send_as_is(&file.type_(), file.size(), w, h) {
            let bytes = JsFuture::from(file.array_buffer()).await.map_err(|_| unreadable())?;
            let source = source(&file.type_(), base64(&js_sys::Uint8Array::new(&bytes).to_vec()));
            if ok(&source) {
                return Ok(source);
            }
        }
        // Too large, another type, or not what its type says: drawn again as JPEG.
        let (mut w, mut h) = fit(w, h, MAX_SIDE);
        for _ in 0..6 {
            for quality in [0.85, 0.7, 0.55] {
                let data = draw(&img, w, h, quality).ok_or_else(unreadable)?;
                if data.len() / 4 * 3 <= TARGET_BYTES {
                    let source = source("image/jpeg", data);
                    return if ok(&source) { Ok(source) } else { Err(unreadable()) };
                }
            }
            (w, h) = fit(w, h, w.max(h) * 3 / 4);
        }
        Err(format!("{name} could not be made small enough to send"))
    }

    fn source(media_type: &str, data: String) -> ImageSource {
        ImageSource { kind: "base64".into(), media_type: media_type.into(), data }
    }

    fn ok(source: &ImageSource) -> bool {
        content_problem(&[ContentBlock::Image { source: source.clone() }]).is_none()
    }

    /// The picture drawn at `w` x `h` on white (a transparent PNG stays readable), as JPEG base64.
    fn draw(img: &HtmlImageElement, w: u32, h: u32, quality: f64) -> Option<String> {
        let canvas: HtmlCanvasElement = document().create_element("canvas").ok()?.dyn_into().ok()?;
        canvas.set_width(w);
        canvas.set_height(h);
        let ctx: CanvasRenderingContext2d = canvas.get_context("2d").ok()??.dyn_into().ok()?;
        ctx.set_fill_style_str("#fff");
        ctx.fill_rect(0.0, 0.0, f64::from(w), f64::from(h));
        ctx.draw_image_with_html_image_element_and_dw_and_dh(img, 0.0, 0.0, f64::from(w), f64::from(h)).ok()?;
        let url = canvas.to_data_url_with_type_and_encoder_options("image/jpeg", &quality.into()).ok()?;
        url.strip_prefix("data:image/jpeg;base64,").map(str::to_string)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_images_under_the_pick_limit_are_read() {
        let cases = [
            ("a.png", "image/png", 1e6, None),
            ("a.heic", "image/heic", 1e6, None), // the browser may decode it; else "could not be read"
            ("notes.txt", "text/plain", 10.0, Some("notes.txt is not an image")),
            ("", "", 10.0, Some("the pasted item is not an image")),
            ("x.svg", "text/xml", 10.0, Some("not an image")),
            ("huge.jpg", "image/jpeg", 25.0 * 1048576.0, Some("huge.jpg is 25.0 MB: pick an image under 20 MB")),
        ];
        for (name, t, size, expected) in cases {
            let got = pick_problem(name, t, size);
            match expected {
                None => assert_eq!(got, None, "{name}"),
                Some(e) => assert!(got.as_deref().is_some_and(|g| g.contains(e)), "{name}: {got:?}"),
            }
        }
    }

    #[test]
    fn small_images_of_a_sendable_type_are_sent_as_they_are() {
        assert!(send_as_is("image/png", 5e5, 1568, 900));
        assert!(!send_as_is("image/png", 5e5, 1569, 900), "too long");
        assert!(!send_as_is("image/jpeg", 8e5, 800, 600), "too heavy");
        assert!(!send_as_is("image/bmp", 1e3, 10, 10), "not a type the model takes");
        assert!(!send_as_is("image/svg+xml", 1e3, 10, 10));
    }

    #[test]
    fn fitting_keeps_the_aspect_and_the_limit() {
        assert_eq!(fit(4032, 3024, 1568), (1568, 1176));
        assert_eq!(fit(3024, 4032, 1568), (1176, 1568));
        assert_eq!(fit(800, 600, 1568), (800, 600));
        assert_eq!(fit(100_000, 10, 1568), (1568, 1), "never 0 px");
        assert_eq!(fit(0, 0, 1568), (1, 1));
    }

    #[test]
    fn base64_is_the_standard_alphabet_with_padding() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(&[0xfb, 0xff, 0xfe]), "+//+");
    }
}
