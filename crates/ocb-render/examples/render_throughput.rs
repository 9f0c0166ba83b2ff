//! Statement rendering throughput: 600 statements of varied sizes rendered to PDF by one shared
//! [`Renderer`] across worker threads, the way a generation run does (SPEC 8.4 step 4, 15.1).
//!
//! ```text
//! cargo run --release -p ocb-render --example render_throughput [-- STATEMENTS [THREADS [TEMPLATES_DIR]]]
//! ```

#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use ocb_render::Renderer;
use serde_json::Value;

/// Most statements are short; every tenth is a busy project, every fiftieth a 300-charge one.
fn spec_for(i: usize) -> common::Spec {
    let charges = if i.is_multiple_of(50) {
        300
    } else if i.is_multiple_of(10) {
        80
    } else {
        2 + (i * 7) % 30
    };
    common::Spec {
        charges,
        fund_groups: if i.is_multiple_of(7) { 2 } else { 1 },
        discount: !i.is_multiple_of(3),
        draft: i.is_multiple_of(2),
        pi_email: format!("pi{i}@example.edu"),
        project: format!("project-{i:04}"),
        lifecycle: i
            .is_multiple_of(11)
            .then_some(("warning", "Project ends on 2025-03-31.")),
        ..common::Spec::default()
    }
}

/// Renders every statement once, `threads` workers pulling the next index; returns total bytes.
fn render_all(renderer: &Renderer, data: &[Value], threads: usize) -> usize {
    let next = AtomicUsize::new(0);
    let bytes = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(statement) = data.get(i) else { break };
                let pdf = renderer.render_pdf(statement).expect("statement renders");
                bytes.fetch_add(pdf.len(), Ordering::Relaxed);
            });
        }
    });
    bytes.into_inner()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let count: usize = args
        .next()
        .map_or(600, |a| a.parse().expect("STATEMENTS is a number"));
    let threads: usize = args.next().map_or_else(
        || std::thread::available_parallelism().map_or(2, usize::from),
        |a| a.parse().expect("THREADS is a number"),
    );

    let started = Instant::now();
    let templates = args.next().map(std::path::PathBuf::from);
    let renderer = Renderer::new(templates.as_deref()).expect("template loads");
    let setup = started.elapsed();
    let data: Vec<Value> = (0..count)
        .map(|i| common::statement(&spec_for(i)))
        .collect();
    let charges: usize = data
        .iter()
        .map(|d| d["charges"].as_array().map_or(0, Vec::len))
        .sum();

    // The first statement pays for lazily built tables (library, font book); time it on its own.
    let first = Instant::now();
    renderer.render_pdf(&data[0]).expect("statement renders");
    let first = first.elapsed();

    let started = Instant::now();
    let bytes = render_all(&renderer, &data, threads);
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "renderer setup {:.1} ms, first statement {:.1} ms",
        setup.as_secs_f64() * 1e3,
        first.as_secs_f64() * 1e3
    );
    println!(
        "{count} statements ({charges} charges, {:.1} MB of PDF) on {threads} threads in {elapsed:.2} s: \
         {:.0} statements/s",
        bytes as f64 / 1e6,
        count as f64 / elapsed
    );
}
