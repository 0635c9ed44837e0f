fn main() -> std::process::ExitCode {
    sitegroup_cms::cli::main()
}
