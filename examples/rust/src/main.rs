//! Ask a model a question and stream the answer.
//!
//!     cargo run --offline -- MODEL_DIR [QUESTION] [VIDEO]
use std::io::Write;
use std::ops::ControlFlow;
use std::process::ExitCode;

fn run(args: &[String]) -> apollo::Result<()> {
    let model = apollo::Model::open(&args[1])?;
    let question = args.get(2).map(String::as_str).unwrap_or("What is the capital of France?");
    let mut chat = model.session()?;
    if let Some(path) = args.get(3) {
        let mut video = model.video(path, &apollo::VideoOptions::new())?;
        eprintln!("{}: {} clips", path, video.n_clips()?);
        for i in 0..video.n_clips()? {
            let (t0, t1) = video.clip_time(i)?;
            eprintln!("  clip {}: {:.1}-{:.1} s", i, t0, t1);
        }
        chat.add_video(&mut video)?; // encodes it; the question completes the message
    }
    let opts = apollo::AskOptions::new().max_new_tokens(32);
    let stdout = std::io::stdout();
    chat.ask_streaming(question, &opts, |text| {
        let mut out = stdout.lock();
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
        ControlFlow::Continue(())
    })?;
    println!();
    eprintln!("[finish: {:?}]", chat.finish_reason());
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 2 {
        eprintln!("usage: {} MODEL_DIR [QUESTION] [VIDEO]", args[0]);
        return ExitCode::from(2);
    }
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", e);
            ExitCode::FAILURE
        }
    }
}
