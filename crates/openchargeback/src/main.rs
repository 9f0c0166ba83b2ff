//! `openchargeback`: the command-line entry point.
fn main() -> std::process::ExitCode {
    openchargeback::run()
}
