//! Videos through the Rust binding, against the decord reference metadata.
mod common;

use apollo::{ErrorKind, Frames, Video, VideoOptions, VideoSource};

fn cfr() -> std::path::PathBuf {
    common::fixtures().join("videos/cfr_161x97_2997.mp4")
}

fn check_cfr(v: &Video) {
    let clips: [[i64; 4]; 3] = [[0, 14, 28, 42], [39, 53, 67, 81], [78, 92, 106, 120]];
    let times = [(0.0, 1.4), (1.3, 2.7), (2.6, 4.0)];
    assert_eq!(v.n_clips().unwrap(), 3);
    let info = v.info().unwrap();
    assert_eq!(info.total_frames, 135);
    assert_eq!(info.fps, 30000.0 / 1001.0);
    assert_eq!((info.width, info.height), (161, 97));
    assert_eq!(info.codec, "h264");
    assert!(!info.is_image);
    for (i, c) in clips.iter().enumerate() {
        assert_eq!(v.clip_frames(i as i32).unwrap(), c.to_vec());
        let (t0, t1) = v.clip_time(i as i32).unwrap();
        assert!((t0 - times[i].0).abs() < 0.051 && (t1 - times[i].1).abs() < 0.051);
    }
    assert_eq!(v.clip_frames(3).unwrap_err().kind(), ErrorKind::InvalidArg);
}

#[test]
fn video_file() {
    let model = common::open_model();
    let v = model.video(cfr(), &VideoOptions::new()).unwrap();
    check_cfr(&v);
    assert_eq!(v.info().unwrap().source, VideoSource::File);
    let sc = std::fs::read_to_string(
        common::fixtures().join("reference/tiny-tied/video-cfr/scenario.json"),
    )
    .unwrap();
    let prompt = common::parse_json(&sc).get("prompt_text").str().to_string();
    assert!(prompt.contains(&v.prompt_text(true).unwrap()));
    assert_eq!(
        v.prompt_text(false).unwrap(),
        "You are provided the following series of three, 2 second clips from a \
         0:00:04.504500 [H:MM:SS] video.\n0.0-1.4 seconds: ,\n1.3-2.7 seconds: ,\n\
         2.6-4.0 seconds: "
    );
}

#[test]
fn video_memory_and_model_lifetime() {
    let model = common::open_model();
    let data = std::fs::read(cfr()).unwrap();
    let v = Video::from_memory(&model, &data, &VideoOptions::new()).unwrap();
    drop(model);
    drop(data);
    check_cfr(&v);
    assert_eq!(v.info().unwrap().source, VideoSource::Memory);
}

#[test]
fn video_frames_and_image() {
    let model = common::open_model();
    let (w, h, n) = (32, 24, 20);
    let rgb: Vec<u8> = (0..n * w * h * 3)
        .map(|i| (i / (w * h * 3) * 10) as u8)
        .collect();
    let frames = Frames {
        rgb: &rgb,
        n_frames: n as i32,
        width: w as i32,
        height: h as i32,
        row_stride: 0,
        fps: 10.0,
        timestamps_s: None,
    };
    let v = Video::from_frames(&model, &frames, &VideoOptions::new()).unwrap();
    let info = v.info().unwrap();
    assert_eq!(info.source, VideoSource::Frames);
    assert_eq!(info.total_frames, n as i64);
    let img = Frames {
        n_frames: 1,
        ..frames
    };
    let v = Video::from_frames(&model, &img, &VideoOptions::new()).unwrap();
    assert!(v.info().unwrap().is_image);
    // a video may move to another thread
    std::thread::spawn(move || assert_eq!(v.n_clips().unwrap(), 1))
        .join()
        .unwrap();
}

#[test]
fn video_errors() {
    let model = common::open_model();
    let missing = std::env::temp_dir().join("apollo-rust-missing.mp4");
    let e = model.video(&missing, &VideoOptions::new()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert!(e.message().contains(missing.to_str().unwrap()));
    let e = model.video(
        common::fixtures().join("video-bad/text.txt"),
        &VideoOptions::new(),
    );
    assert_eq!(e.unwrap_err().kind(), ErrorKind::Video);
    let e = Video::from_memory(&model, &[], &VideoOptions::new()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NoVideo);
    let v = model
        .video(cfr(), &VideoOptions::new().max_clips(2))
        .unwrap();
    assert_eq!(v.n_clips().unwrap(), 2);
}

struct VideoRef {
    q1: String,
    a1: String,
    q2: String,
    expect: Vec<i32>,
    greedy_text: String,
}

fn video_ref() -> VideoRef {
    let text = std::fs::read_to_string(
        common::fixtures().join("reference/tiny-tied/video-cfr/scenario.json"),
    )
    .unwrap();
    let j = common::parse_json(&text);
    let prompt = j.get("prompt_text").str();
    let user1 = prompt
        .split("<|im_start|>user\n")
        .nth(1)
        .unwrap()
        .split("<|im_end|>")
        .next()
        .unwrap();
    let q1 = &user1[user1.rfind("<|video_token|>").unwrap() + "<|video_token|>".len() + 2..];
    let a1 = prompt
        .split("<|im_start|>assistant\n")
        .nth(1)
        .unwrap()
        .split("<|im_end|>")
        .next()
        .unwrap();
    let q2 = prompt
        .split("<|im_start|>user\n")
        .nth(2)
        .unwrap()
        .split("<|im_end|>")
        .next()
        .unwrap();
    let mut expect = j.get("prompt_ids").ids();
    expect.extend(j.get("greedy_ids").ids());
    VideoRef {
        q1: q1.to_string(),
        a1: a1.to_string(),
        q2: q2.to_string(),
        expect,
        greedy_text: j.get("greedy_text").str().to_string(),
    }
}

fn converse(model: &apollo::Model, v: &mut Video, r: &VideoRef, fork: bool) -> usize {
    let mut s = model.session().unwrap();
    let mut progress = 0;
    s.add_video_with(v, |_, _| progress += 1, || false).unwrap();
    if fork {
        s = s.fork().unwrap();
    }
    s.add_exchange(&r.q1, &r.a1).unwrap();
    let mut text = String::new();
    let opts = apollo::AskOptions::new()
        .greedy()
        .repetition_penalty(1.0)
        .max_new_tokens(32);
    s.ask_streaming(&r.q2, &opts, |t| {
        text.push_str(t);
        std::ops::ControlFlow::Continue(())
    })
    .unwrap();
    assert_eq!(s.tokens().unwrap(), r.expect);
    assert_eq!(text, r.greedy_text);
    progress
}

#[test]
fn golden_video_save_load() {
    let r = video_ref();
    let model = common::open_model();
    let mut v = model.video(cfr(), &VideoOptions::new()).unwrap();
    assert!(!v.is_encoded().unwrap());
    assert_eq!(converse(&model, &mut v, &r, false), 3);
    let (emb, dim) = v.embeddings().unwrap();
    assert_eq!(dim, model.info().unwrap().llm_hidden_size);
    let path = std::env::temp_dir().join(format!("apollo-rust-{}.apemb", std::process::id()));
    v.save(&path).unwrap();
    let mut loaded = Video::load(&model, &path, &VideoOptions::new()).unwrap();
    assert_eq!(loaded.embeddings().unwrap(), (emb, dim));
    assert_eq!(converse(&model, &mut loaded, &r, true), 0); // never re-encoded
    let e = Video::load(&model, &path, &VideoOptions::new().max_clips(2)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    let _ = std::fs::remove_file(&path);
}

#[test]
fn add_video_abort() {
    let model = common::open_model();
    let mut v = model.video(cfr(), &VideoOptions::new()).unwrap();
    let mut s = model.session().unwrap();
    let e = s.add_video_with(&mut v, |_, _| {}, || true).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Cancelled);
    assert!(s.tokens().unwrap().is_empty());
    assert!(!v.is_encoded().unwrap());
}
