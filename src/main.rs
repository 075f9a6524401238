//! The `marketplace-release` binary: everything happens in [`marketplace_release::app::main`].

fn main() -> std::process::ExitCode {
    marketplace_release::app::main()
}
