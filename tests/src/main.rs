#[global_allocator]
static GLOBAL: sitegroup_cms::Allocator = sitegroup_cms::Allocator;

fn main() -> std::process::ExitCode {
    sitegroup_cms::cli::main()
}
