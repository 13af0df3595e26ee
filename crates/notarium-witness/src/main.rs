//! `notarium-witness`: see [`notarium_witness::cli`].

fn main() -> std::process::ExitCode {
    notarium_witness::cli::run(std::env::args_os())
}
