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
