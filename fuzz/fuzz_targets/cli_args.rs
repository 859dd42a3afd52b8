//! sgctl's command line, from the arguments to the request it would send (`Cli::prepare`):
//! clap, then every option's value in each form the AWS CLI takes (shorthand, JSON, lists,
//! `file://`, `--cli-input-json`), checked against the operation's input shape.
//!
//! The input is text: one argument per line, the first a subcommand (the program name is
//! added), and, after a line `@@FILE@@`, the text of a file. Every `file://` or `fileb://` in
//! an argument names that file, whatever path follows it, and so does the file argument of
//! `import` (`-`, standard input, included): no input reads any other file.
//!
//! Beyond not panicking: a prepared request goes through the socket's JSON and comes out the
//! same (what sgctl sends, sgd decodes as it was meant), and a skeleton is JSON.
#![no_main]

use std::{cell::RefCell, path::PathBuf, sync::OnceLock};

use clap::{CommandFactory as _, FromArgMatches as _};
use libfuzzer_sys::fuzz_target;
use sg_userspace::{
    api::Request,
    cli::{Cli, Command, Prepared},
};

/// The line that ends the arguments and starts the file's text.
const FILE_MARK: &str = "@@FILE@@";

/// The scratch file every `file://` names, in a directory of its own made once per process
/// in the temporary directory (`cargo xtask fuzz` points `TMPDIR` into fuzz/target).
fn scratch() -> &'static PathBuf {
    static FILE: OnceLock<PathBuf> = OnceLock::new();
    FILE.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("sg-fuzz-cli-")
            .tempdir()
            .expect("a scratch directory");
        dir.keep().join("param")
    })
}

/// `arg` with the path of every `file://` or `fileb://` in it replaced by the scratch file's.
fn confine(arg: &str) -> String {
    for scheme in ["fileb://", "file://"] {
        if let Some(at) = arg.find(scheme) {
            let file = scratch().display();
            return format!("{}{scheme}{file}", &arg[..at]);
        }
    }
    arg.to_owned()
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (args, file) = match text.split_once(&format!("\n{FILE_MARK}\n")) {
        Some((args, file)) => (args, Some(file)),
        None => (text, None),
    };
    let args: Vec<String> = args.lines().map(confine).collect();
    // `Cli::try_parse_from`, with the command made and built once (making sgctl's whole
    // command tree took most of each run); clap parses with a command as often as asked.
    thread_local! {
        static COMMAND: RefCell<clap::Command> = RefCell::new({
            let mut c = Cli::command();
            c.build();
            c
        });
    }
    // The subcommand first: a mistyped one makes clap measure its distance to every name
    // (for "did you mean"), which took most of the time and reaches none of sgctl's code.
    let known = |c: &clap::Command| args.first().is_some_and(|a| c.find_subcommand(a).is_some());
    if !COMMAND.with_borrow(known) {
        return;
    }
    let argv = std::iter::once("sgctl".to_owned()).chain(args.clone());
    let Ok(mut matches) = COMMAND.with_borrow_mut(|c| c.try_get_matches_from_mut(argv)) else {
        return;
    };
    let Ok(mut cli) = Cli::from_arg_matches_mut(&mut matches) else {
        return;
    };
    let mut reads = args
        .iter()
        .any(|a| a.contains("file://") || a.contains("fileb://"));
    if let Command::Import { file: Some(f) } = &mut cli.command {
        *f = scratch().display().to_string();
        reads = true;
    }
    if reads {
        std::fs::write(scratch(), file.unwrap_or_default()).expect("writing the scratch file");
    }
    match cli.prepare() {
        Ok(Prepared::Request(req)) => {
            let _ = req.operation();
            let line = serde_json::to_vec(&req).expect("a request serialises");
            let back: Request = serde_json::from_slice(&line).unwrap_or_else(|e| {
                panic!(
                    "sgd cannot read what sgctl sends ({e}): {}",
                    String::from_utf8_lossy(&line)
                )
            });
            assert_eq!(back, req, "the socket's JSON changed the request");
        }
        Ok(Prepared::Skeleton(s)) => {
            serde_json::from_str::<serde_json::Value>(&s).expect("a skeleton is JSON");
        }
        Err(e) => {
            let _ = e.0;
        }
    }
});
