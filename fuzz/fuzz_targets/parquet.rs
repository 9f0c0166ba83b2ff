//! The Parquet reader: bytes that start with the `PAR1` magic through `FocusReader` (footer and
//! schema, typed columns, MAP tags, nested values as JSON). Checks the stream invariants of
//! `ocb_fuzz::read_all`; a panic inside the parquet crate must be contained as a file error.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ocb_fuzz::tolerate_contained_parquet_panics();
    let data: std::borrow::Cow<[u8]> = if data.starts_with(b"PAR1") {
        data.into()
    } else {
        [&b"PAR1"[..], data].concat().into()
    };
    ocb_fuzz::read_all("fuzz.parquet", &data);
});
