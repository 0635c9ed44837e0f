//! Runs go-ftw tests against a rule directory (the same runner as `sitegroup waf test`):
//! `cargo run --release -p sitegroup-waf --example ftw -- RULES_DIR TESTS_DIR [FILTER]`.

use std::path::Path;

use sitegroup_waf::ftw;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: ftw RULES_DIR TESTS_DIR [NAME_PREFIX]");
        std::process::exit(2);
    }
    let t0 = std::time::Instant::now();
    let engine = match ftw::load_rules(Path::new(&args[1]), ftw::CRS_TEST_SETUP) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    eprintln!(
        "loaded {} rules in {:?}",
        engine.rules().rule_count(),
        t0.elapsed()
    );
    let mut stages = match ftw::load_tests(Path::new(&args[2])) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    if let Some(f) = args.get(3) {
        stages.retain(|s| s.name.starts_with(f.as_str()));
    }
    if std::env::var_os("FTW_DEBUG").is_some() {
        for s in &stages {
            if let Ok(input) = &s.input {
                let (status, tx) = ftw::execute_transaction(&engine, input);
                println!("== {} status {status}", s.name);
                println!("{}", tx.debug_dump());
                for m in tx.matched_rules() {
                    println!("  {}", m.log_line());
                }
            }
        }
    }
    let report = ftw::run(&engine, &stages, &ftw::Overrides::default());
    for f in &report.failures {
        println!("FAIL {}: {}", f.name, f.reason);
    }
    println!("passed {} of {}", report.passed, report.total);
}
