//! Finds libapollo for the linker.
//!
//! Order: `$APOLLO_LIB_DIR` (a directory holding libapollo.so), then
//! `pkg-config --libs apollo` run as a command (no crate needed, so the build
//! stays offline and dependency-free), then the linker's default paths.
//! Dependents' build scripts get the directory as `DEP_APOLLO_LIBDIR`.
use std::env;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=APOLLO_LIB_DIR");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_LIBDIR");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_SYSROOT_DIR");
    println!("cargo:rerun-if-changed=build.rs");

    if let Ok(dir) = env::var("APOLLO_LIB_DIR") {
        if !dir.is_empty() {
            println!("cargo:rustc-link-search=native={}", dir);
            println!("cargo:rustc-link-lib=dylib=apollo");
            println!("cargo:libdir={}", dir);
            return;
        }
    }

    let pkg_config = env::var("PKG_CONFIG").unwrap_or_else(|_| "pkg-config".to_string());
    match Command::new(&pkg_config)
        .args(["--libs", "apollo"])
        .output()
    {
        Ok(out) if out.status.success() => {
            let flags = String::from_utf8_lossy(&out.stdout).into_owned();
            let mut linked = false;
            for flag in flags.split_whitespace() {
                if let Some(dir) = flag.strip_prefix("-L") {
                    println!("cargo:rustc-link-search=native={}", dir);
                    println!("cargo:libdir={}", dir);
                } else if let Some(lib) = flag.strip_prefix("-l") {
                    println!("cargo:rustc-link-lib=dylib={}", lib);
                    linked |= lib == "apollo";
                }
            }
            if !linked {
                println!("cargo:rustc-link-lib=dylib=apollo");
            }
        }
        Ok(out) => {
            println!(
                "cargo:warning=pkg-config could not find apollo ({}); set PKG_CONFIG_PATH or \
                 APOLLO_LIB_DIR; trying the linker's default paths",
                String::from_utf8_lossy(&out.stderr).trim()
            );
            println!("cargo:rustc-link-lib=dylib=apollo");
        }
        Err(e) => {
            println!(
                "cargo:warning=cannot run {} ({}); trying the linker's default paths",
                pkg_config, e
            );
            println!("cargo:rustc-link-lib=dylib=apollo");
        }
    }
}
