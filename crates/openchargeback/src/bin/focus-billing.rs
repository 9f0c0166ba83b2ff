//! `focus-billing`: the same CLI under the name upstream scripts and cron jobs use.
fn main() -> std::process::ExitCode {
    openchargeback::run()
}
