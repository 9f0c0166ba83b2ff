//! The CSV reader: arbitrary bytes through `FocusReader` as CSV or CSV.gz (content sniffing,
//! gzip, BOM, header recognition, splitting with quotes across lines, row building, `finish`).
//! Checks the stream invariants of `ocb_fuzz::read_all`, and for plain text that the header
//! line and every record start on lines that exist in the input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Parquet has its own target.
    if data.starts_with(b"PAR1") {
        return;
    }
    let summary = ocb_fuzz::read_all("fuzz.csv", data);
    let plain = !data.starts_with(&[0x1f, 0x8b]);
    if plain && summary.file_error.is_none() {
        // header + records, each on its own physical line: at most one per line.
        let lines = 1 + data.iter().filter(|&&b| b == b'\n' || b == b'\r').count() as u64;
        assert!(summary.rows + summary.rejected < lines.max(1));
    }
});
