//! Test helpers: fixture paths and a minimal JSON reader (no crates.io
//! dependency) for the transformers reference scenario.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;

pub fn fixtures() -> PathBuf {
    match std::env::var("APOLLO_FIXTURES") {
        Ok(d) if !d.is_empty() => PathBuf::from(d),
        _ => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../tests/fixtures"),
    }
}

pub fn model_dir() -> PathBuf {
    fixtures().join("models/tiny-tied")
}

#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(BTreeMap<String, Json>),
}

impl Json {
    pub fn get(&self, key: &str) -> &Json {
        match self {
            Json::Obj(m) => m.get(key).unwrap_or(&Json::Null),
            _ => &Json::Null,
        }
    }
    pub fn str(&self) -> &str {
        match self {
            Json::Str(s) => s,
            other => panic!("not a string: {:?}", other),
        }
    }
    pub fn ids(&self) -> Vec<i32> {
        match self {
            Json::Arr(v) => v
                .iter()
                .map(|x| match x {
                    Json::Num(n) => *n as i32,
                    other => panic!("not a number: {:?}", other),
                })
                .collect(),
            other => panic!("not an array: {:?}", other),
        }
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Parser<'a> {
    fn ws(&mut self) {
        while self.i < self.s.len() && (self.s[self.i] as char).is_ascii_whitespace() {
            self.i += 1;
        }
    }
    fn eat(&mut self, c: u8) {
        self.ws();
        assert_eq!(
            self.s[self.i], c,
            "JSON: expected '{}' at {}",
            c as char, self.i
        );
        self.i += 1;
    }
    fn hex4(&mut self) -> u32 {
        let h = std::str::from_utf8(&self.s[self.i..self.i + 4]).unwrap();
        self.i += 4;
        u32::from_str_radix(h, 16).unwrap()
    }
    fn string(&mut self) -> String {
        self.eat(b'"');
        let mut out: Vec<u8> = Vec::new();
        loop {
            let c = self.s[self.i];
            self.i += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    let e = self.s[self.i];
                    self.i += 1;
                    let ch = match e {
                        b'n' => '\n',
                        b't' => '\t',
                        b'r' => '\r',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'/' => '/',
                        b'\\' => '\\',
                        b'"' => '"',
                        b'u' => {
                            let mut cp = self.hex4();
                            if (0xD800..0xDC00).contains(&cp) && self.s[self.i] == b'\\' {
                                self.i += 2;
                                let lo = self.hex4();
                                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                            }
                            char::from_u32(cp).unwrap_or('\u{fffd}')
                        }
                        other => panic!("JSON: bad escape {}", other as char),
                    };
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
                c => out.push(c),
            }
        }
        String::from_utf8(out).expect("JSON string is UTF-8")
    }
    fn value(&mut self) -> Json {
        self.ws();
        match self.s[self.i] {
            b'{' => {
                self.i += 1;
                let mut m = BTreeMap::new();
                self.ws();
                if self.s[self.i] == b'}' {
                    self.i += 1;
                    return Json::Obj(m);
                }
                loop {
                    let k = self.string();
                    self.eat(b':');
                    let v = self.value();
                    m.insert(k, v);
                    self.ws();
                    let c = self.s[self.i];
                    self.i += 1;
                    if c == b'}' {
                        return Json::Obj(m);
                    }
                    assert_eq!(c, b',');
                }
            }
            b'[' => {
                self.i += 1;
                let mut v = Vec::new();
                self.ws();
                if self.s[self.i] == b']' {
                    self.i += 1;
                    return Json::Arr(v);
                }
                loop {
                    v.push(self.value());
                    self.ws();
                    let c = self.s[self.i];
                    self.i += 1;
                    if c == b']' {
                        return Json::Arr(v);
                    }
                    assert_eq!(c, b',');
                }
            }
            b'"' => Json::Str(self.string()),
            b't' => {
                self.i += 4;
                Json::Bool(true)
            }
            b'f' => {
                self.i += 5;
                Json::Bool(false)
            }
            b'n' => {
                self.i += 4;
                Json::Null
            }
            _ => {
                let start = self.i;
                while self.i < self.s.len() && b"+-0123456789.eE".contains(&self.s[self.i]) {
                    self.i += 1;
                }
                let t = std::str::from_utf8(&self.s[start..self.i]).unwrap();
                Json::Num(
                    t.parse()
                        .unwrap_or_else(|_| panic!("JSON: bad number {}", t)),
                )
            }
        }
    }
}

pub fn parse_json(text: &str) -> Json {
    Parser {
        s: text.as_bytes(),
        i: 0,
    }
    .value()
}

pub struct Scenario {
    pub q1: String,
    pub a1: String,
    pub q2: String,
    pub prompt_ids: Vec<i32>,
    pub greedy_ids: Vec<i32>,
    pub greedy_text: String,
    pub greedy_rp_ids: Vec<i32>,
    pub greedy_rp_text: String,
}

fn between<'a>(s: &'a str, start: &str, end: &str, pos: usize) -> (&'a str, usize) {
    let a = s[pos..].find(start).expect("turn start") + pos + start.len();
    let b = s[a..].find(end).expect("turn end") + a;
    (&s[a..b], b + end.len())
}

/// The reference scenario, with q1, a1, q2 taken back out of its ChatML prompt.
pub fn scenario() -> Scenario {
    let path = fixtures().join("reference/tiny-tied/text/scenario.json");
    let text = std::fs::read_to_string(&path).expect("read scenario.json");
    let j = parse_json(&text);
    let prompt = j.get("prompt_text").str();
    let (q1, p) = between(prompt, "<|im_start|>user\n", "<|im_end|>", 0);
    let (a1, p) = between(prompt, "<|im_start|>assistant\n", "<|im_end|>", p);
    let (q2, _) = between(prompt, "<|im_start|>user\n", "<|im_end|>", p);
    Scenario {
        q1: q1.to_string(),
        a1: a1.to_string(),
        q2: q2.to_string(),
        prompt_ids: j.get("prompt_ids").ids(),
        greedy_ids: j.get("greedy_ids").ids(),
        greedy_text: j.get("greedy_text").str().to_string(),
        greedy_rp_ids: j.get("greedy_rp_ids").ids(),
        greedy_rp_text: j.get("greedy_rp_text").str().to_string(),
    }
}

pub fn open_model() -> apollo::Model {
    apollo::Model::open_with(model_dir(), apollo::ModelOptions::new().n_threads(2))
        .expect("open the tiny model")
}
