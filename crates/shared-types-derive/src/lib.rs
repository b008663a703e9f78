//! `#[derive(TagFirst)]`: `serde::Deserialize` for an internally tagged enum
//! (`#[serde(tag = "type")]`) that reads the tag first and then decodes the variant straight from
//! the JSON text.
//!
//! serde's own derive for an internally tagged enum first buffers the whole object into its
//! private `Content` tree (it cannot know the variant before it has seen the tag, which may come
//! last) and then decodes the variant from that tree. That doubles every type's decoding code in
//! the wasm bundles: one copy for JSON, one for `Content`. Here the object is kept as raw JSON
//! (`serde_json::value::RawValue`), its tag is read, and the variant's fields are decoded from the
//! same text by a serde-derived mirror of the enum (`#[serde(remote)]`, externally tagged, which
//! needs no buffering), so every field type is decoded by one JSON path only.
//!
//! The mirror is the enum's own variants and serde attributes, copied token for token, so the
//! two cannot drift; the wire format is the one `#[serde(tag = ...)]` describes, pinned by
//! shared-types' golden files. Only JSON can carry such an enum (a `serde_json` deserializer or
//! a `serde_json::Value`); the runtime half is `shared_types::tag_first`.

use proc_macro::TokenStream;
use quote::quote;
use syn::punctuated::Punctuated;
use syn::{parse_macro_input, Data, DeriveInput, Expr, ExprLit, Lit, Meta, Token};

#[proc_macro_derive(TagFirst)]
pub fn derive_tag_first(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand(&input).unwrap_or_else(syn::Error::into_compile_error).into()
}

fn expand(input: &DeriveInput) -> syn::Result<proc_macro2::TokenStream> {
    let name = &input.ident;
    let Data::Enum(data) = &input.data else {
        return Err(syn::Error::new_spanned(name, "TagFirst is for enums"));
    };
    if !input.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(&input.generics, "TagFirst takes no generic enums"));
    }
    let mut tag = None;
    let mut kept: Vec<Meta> = Vec::new();
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("serde")) {
        for meta in attr.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated)? {
            match &meta {
                Meta::NameValue(nv) if nv.path.is_ident("tag") => match &nv.value {
                    Expr::Lit(ExprLit { lit: Lit::Str(s), .. }) => tag = Some(s.value()),
                    other => return Err(syn::Error::new_spanned(other, "#[serde(tag)] must be a string")),
                },
                Meta::NameValue(nv) if nv.path.is_ident("content") || nv.path.is_ident("remote") => {
                    return Err(syn::Error::new_spanned(nv, "TagFirst is for internally tagged enums only"));
                }
                Meta::Path(p) if p.is_ident("untagged") => {
                    return Err(syn::Error::new_spanned(p, "TagFirst is for internally tagged enums only"));
                }
                _ => kept.push(meta),
            }
        }
    }
    let Some(tag) = tag else {
        return Err(syn::Error::new_spanned(name, "TagFirst needs #[serde(tag = \"...\")]"));
    };
    let remote = name.to_string();
    let variants = &data.variants;
    Ok(quote! {
        const _: () = {
            #[derive(::serde::Deserialize)]
            #[serde(remote = #remote)]
            #( #[serde(#kept)] )*
            #[allow(dead_code)]
            enum __TagFirstMirror { #variants }

            impl<'de> ::serde::Deserialize<'de> for #name {
                fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> ::core::result::Result<Self, D::Error> {
                    crate::tag_first::deserialize(d, #tag, |tagged| __TagFirstMirror::deserialize(tagged))
                }
            }
        };
    })
}
