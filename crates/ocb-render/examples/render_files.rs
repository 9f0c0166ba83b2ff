//! Renders stored template data objects (one JSON file each, e.g. `statements.template_data` of a
//! benchmark instance) on one thread: a profiling aid for the statement template and renderer.
//! The first file is rendered once more beforehand, so lazily built tables (library, font book,
//! parsed template) are not counted in the per-statement figure; under
//! `valgrind --tool=callgrind` the difference between two COUNTs gives instructions per statement.
//!
//! ```text
//! cargo run --release -p ocb-render --example render_files -- DATA_DIR [COUNT [TEMPLATES_DIR [OUT_DIR]]]
//! ```

use std::path::{Path, PathBuf};
use std::time::Instant;

use ocb_render::Renderer;
use serde_json::Value;

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(
        args.next()
            .expect("DATA_DIR: a directory of *.json data files"),
    );
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("DATA_DIR is readable")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no *.json in {}", dir.display());
    let count: usize = args
        .next()
        .map_or(files.len(), |a| a.parse().expect("COUNT is a number"));
    let templates = args.next().filter(|a| !a.is_empty()).map(PathBuf::from);
    let out = args.next().map(PathBuf::from);

    let data: Vec<Value> = files.iter().map(|p| read(p)).collect();
    let renderer = Renderer::new(templates.as_deref()).expect("template loads");
    renderer.render_pdf(&data[0]).expect("statement renders");

    let started = Instant::now();
    let mut bytes = 0;
    for i in 0..count {
        let pdf = renderer
            .render_pdf(&data[i % data.len()])
            .expect("statement renders");
        bytes += pdf.len();
        if let Some(out) = &out {
            let name = files[i % files.len()].with_extension("pdf");
            let name = name.file_name().expect("file name");
            std::fs::write(out.join(name), &pdf).expect("PDF written");
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{count} statements on one thread in {secs:.2} s: {:.1} ms each, {:.0} statements/s, {:.0} KB of PDF each",
        secs * 1e3 / count.max(1) as f64,
        count as f64 / secs,
        bytes as f64 / 1e3 / count.max(1) as f64
    );
}

fn read(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).expect("data file is readable");
    serde_json::from_str(&text).expect("data file is JSON")
}
