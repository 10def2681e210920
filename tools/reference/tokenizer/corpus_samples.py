"""Hand-written seed texts for make_corpus.py (written for this project)."""

ENGLISH_WORDS = """
the of and to a in is it you that he was for on are with as I his they be at one have this
from or had by hot word but what some we can out other were all there when up use your how
said an each she which do their time if will way about many then them write would like so
these her long make thing see him two has look more day could go come did number sound no
most people my over know water than call first who may down side been now find any new work
part take get place made live where after back little only round man year came show every
good me give our under name very through just form sentence great think say help low line
differ turn cause much mean before move right boy old too same tell does set three want air
well also play small end put home read hand port large spell add even land here must big high
such follow act why ask men change went light kind off need house picture try us again animal
point mother world near build self earth father head stand own page should country found answer
school grow study still learn plant cover food sun four between state keep eye never last let
thought city tree cross farm hard start might story saw far sea draw left late run don't while
press close night real life few north open seem together next white children begin got walk
example ease paper group always music those both mark often letter until mile river car feet
care second book carry took science eat room friend began idea fish mountain stop once base hear
horse cut sure watch color face wood main enough plain girl usual young ready above ever red list
though feel talk bird soon body dog family direct pose leave song measure door product black short
numeral class wind question happen complete ship area half rock order fire south problem piece told
knew pass since top whole king space heard best hour better true during hundred five remember step
early hold west ground interest reach fast verb sing listen six table travel less morning ten simple
several vowel toward war lay against pattern slow center love person money serve appear road map
rain rule govern pull cold notice voice unit power town fine certain fly fall lead cry dark machine
note wait plan figure star box noun field rest correct able pound done beauty drive stood contain
front teach week final gave green oh quick develop ocean warm free minute strong special mind behind
clear tail produce fact street inch multiply nothing course stay wheel full force blue object decide
surface deep moon island foot system busy test record boat common gold possible plane stead dry
wonder laugh thousand ago ran check game shape equate miss brought heat snow tire bring yes distant
fill east paint language among tokenizer transformer video frame encoder decoder attention gradient
matrix tensor kernel latency throughput benchmark Apollo Qwen SigLIP InternVideo OpenAI GPU CPU
JSON HTTP URL UTF-8 iPhone macOS JavaScript TypeScript McDonald O'Neill x86_64 co-operate e-mail
state-of-the-art well-known self-driving naïve café résumé fiancée jalapeño
""".split()

PROSE = [
    "The quick brown fox jumps over the lazy dog.",
    "It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of "
    "foolishness, it was the epoch of belief, it was the epoch of incredulity.",
    "I'm sure you'll agree: we've seen this before, haven't we? They're not here; she'd said so. "
    "It's JOHN'S car, and YOU'LL drive it. I'M TIRED. WE'VE GOT IT. THEY'RE OK. HE'D KNOW.",
    "Describe this video in detail. What happens between 0:12 and 0:45? Who enters the room first, "
    "and what are they holding?",
    "You are a helpful assistant.",
    "In 1969, Neil Armstrong became the first person to walk on the Moon; the mission (Apollo 11) "
    "launched on July 16 and returned on July 24.",
    "Dear Sir/Madam,\n\nThank you for your letter of 3 March.  We regret to inform you that the "
    "item is out of stock.\n\nYours faithfully,\nJ. Smith\n",
    "Q: What is 2 + 2?\nA: 4.\n\nQ: What's the capital of France?\nA: Paris.",
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut "
    "labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco.",
    "   leading spaces, trailing spaces   ",
    "Tabs\tbetween\twords\tand a trailing tab\t",
    "Line one\r\nLine two\r\n\r\nLine four\rOld Mac line\n",
    "Email me at john.doe+test@example.com or visit https://www.example.org/path?q=1&r=two#frag.",
    "The price is $1,234.56 (≈ €1.130,00) — a 12.5% increase over 2023's figure.",
    "“Smart quotes” and ‘single ones’ — em dash – en dash … ellipsis • bullet · middot",
    "He said, \"Don't!\" and she replied, 'Why not?'",
    "ALL CAPS SENTENCE WITH NUMBERS 123 AND SYMBOLS #@!",
    "mIxEd CaSe TeXt wItH sTrAnGe CaPiTaLiZaTiOn",
    "The video shows a person cooking pasta. First, they boil water; then they add salt, and "
    "finally they drop in the spaghetti.",
    "Hmm... well, I guess -- maybe? -- we could try again tomorrow!!!",
]

CODE = [
    "#include <stdio.h>\n\nint main(int argc, char **argv)\n{\n    printf(\"Hello, world!\\n\");\n"
    "    for (int i = 0; i < argc; i++)\n        puts(argv[i]);\n    return 0;\n}\n",
    "static inline uint32_t rotl(uint32_t x, int k) { return (x << k) | (x >> (32 - k)); }",
    "typedef struct node {\n\tstruct node *next;\n\tint32_t value;\n} node_t;\n\n/* free the list */\n"
    "void list_free(node_t *n)\n{\n\twhile (n) {\n\t\tnode_t *nx = n->next;\n\t\tfree(n);\n\t\tn = nx;\n\t}\n}\n",
    "def fib(n: int) -> int:\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n    a, b = 0, 1\n"
    "    for _ in range(n):\n        a, b = b, a + b\n    return a\n\n\nif __name__ == '__main__':\n"
    "    print([fib(i) for i in range(10)])\n",
    "import numpy as np\nx = np.zeros((3, 4), dtype=np.float32)\nx[1:, ::2] += 1e-3\nprint(f\"{x.sum():.4f}\")\n",
    "class Foo(Base):\n    def __init__(self, *args, **kwargs):\n        super().__init__(*args, **kwargs)\n"
    "        self._cache = {}\n\n    @property\n    def size(self):\n        return len(self._cache)\n",
    "{\n  \"name\": \"libapollo\",\n  \"version\": \"0.1.0\",\n  \"tags\": [\"video\", \"llm\"],\n"
    "  \"nested\": {\"a\": 1, \"b\": [true, false, null], \"c\": -1.5e-10}\n}",
    "{\"id\":151643,\"content\":\"<|endoftext|>\",\"special\":true}",
    "[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20]",
    "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n  <meta charset=\"utf-8\">\n  <title>Test &amp; page</title>\n"
    "</head>\n<body>\n  <div class=\"main\" id='x'>\n    <p>Hello&nbsp;<b>world</b>!</p>\n  </div>\n</body>\n</html>\n",
    "<script>const f = (a, b) => a ?? b; let s = `template ${f(1, 2)}`; console.log(s === '1');</script>",
    "SELECT id, name FROM users WHERE age >= 18 AND name LIKE 'A%' ORDER BY id DESC LIMIT 10;",
    "fn main() {\n    let v: Vec<u8> = (0..10).map(|x| x * 2).collect();\n    println!(\"{:?}\", v);\n}\n",
    "#!/bin/sh\nset -eu\nfor f in *.txt; do\n  wc -l \"$f\" | awk '{print $1}' >> counts.log 2>&1\ndone\n",
    "    if (x != NULL && *x == '\\0') { return -1; }   // empty string\n",
    "a=1;b=2;c=a+b;d=a*b-c/2%3;e=a<<2|b>>1^~c;f=(a&&b)||!c;",
    "matrix[i][j] += alpha * A[i * lda + k] * B[k * ldb + j];",
    "diff --git a/x.c b/x.c\n--- a/x.c\n+++ b/x.c\n@@ -1,3 +1,4 @@\n int a;\n+int b;\n int c;\n",
    "key: value\nlist:\n  - item1\n  - item2\nnested:\n    deep: true\n",
    "\\begin{equation}\n  E = mc^2 \\quad \\text{and} \\quad \\int_0^\\infty e^{-x^2}\\,dx = \\frac{\\sqrt{\\pi}}{2}\n\\end{equation}",
]

MULTILINGUAL = {
    "zh": [
        "你好，世界！今天天气很好。",
        "这个视频展示了一个人在厨房里做饭。首先，他把水烧开，然后加入面条。",
        "机器学习是人工智能的一个分支，它使计算机能够从数据中学习。",
        "请描述视频中发生了什么，以及每个人物的动作。",
        "中华人民共和国成立于1949年10月1日。",
        "我爱北京天安门，天安门上太阳升。",
    ],
    "ja": [
        "こんにちは、世界！今日はいい天気ですね。",
        "この動画では、男性がキッチンで料理をしています。",
        "東京は日本の首都で、人口は約1400万人です。",
        "カタカナとひらがなと漢字を混ぜて書きます。ｶﾀｶﾅ（半角）もあります。",
        "吾輩は猫である。名前はまだ無い。",
    ],
    "ko": [
        "안녕하세요, 세계! 오늘 날씨가 좋네요.",
        "이 동영상에서는 한 사람이 부엌에서 요리를 하고 있습니다.",
        "대한민국의 수도는 서울입니다. 인구는 약 950만 명입니다.",
        "한글은 세종대왕이 만든 문자입니다.",
    ],
    "ar": [
        "مرحبا بالعالم! كيف حالك اليوم؟",
        "يعرض هذا الفيديو شخصًا يطبخ في المطبخ.",
        "اللغة العربية هي إحدى أكثر اللغات انتشارًا في العالم، ويتحدث بها أكثر من ٤٠٠ مليون شخص.",
        "بِسْمِ اللَّهِ الرَّحْمَٰنِ الرَّحِيمِ",
    ],
    "hi": [
        "नमस्ते दुनिया! आज मौसम अच्छा है।",
        "इस वीडियो में एक व्यक्ति रसोई में खाना बना रहा है।",
        "भारत की राजधानी नई दिल्ली है। जनसंख्या १४० करोड़ से अधिक है।",
        "हिन्दी देवनागरी लिपि में लिखी जाती है।",
    ],
    "th": [
        "สวัสดีชาวโลก วันนี้อากาศดีมาก",
        "วิดีโอนี้แสดงให้เห็นคนกำลังทำอาหารในครัว",
        "ประเทศไทยมีเมืองหลวงคือกรุงเทพมหานคร",
    ],
    "ru": [
        "Привет, мир! Как дела сегодня?",
        "В этом видео человек готовит еду на кухне.",
        "Москва — столица России, население около 13 миллионов человек.",
        "Съешь же ещё этих мягких французских булок, да выпей чаю.",
    ],
    "el": ["Γειά σου Κόσμε! Η γρήγορη καφέ αλεπού πηδάει πάνω από τον τεμπέλη σκύλο."],
    "he": ["שלום עולם! מה שלומך היום?", "עִבְרִית עם ניקוד: בְּרֵאשִׁית בָּרָא"],
    "vi": ["Xin chào thế giới! Hôm nay trời đẹp quá.", "Tiếng Việt có nhiều dấu thanh: à á ả ã ạ."],
    "tr": ["Merhaba dünya! İstanbul'da hava güzel. Iğdır, Şişli, Çağlayan."],
    "de": ["Grüß Gott! Die Straße ist naß. Übermäßige Größe, ÄÖÜ äöü ß ẞ."],
    "fr": ["Bonjour le monde ! Où est l'hôtel ? C'est très « élégant », n'est-ce pas ?"],
    "es": ["¡Hola, mundo! ¿Cómo estás? El niño comió piñas en el año 2024."],
    "pl": ["Zażółć gęślą jaźń. Pchnąć w tę łódź jeża lub ośm skrzyń fig."],
    "uk": ["Привіт, світе! Їжак ґава є. Чуєш їх, доцю, га?"],
    "fa": ["سلام دنیا! حال شما چطور است؟ ۱۲۳۴ تومان"],
    "bn": ["হ্যালো বিশ্ব! আজ আবহাওয়া ভালো।"],
    "ta": ["வணக்கம் உலகம்! இன்று வானிலை நன்றாக உள்ளது."],
    "am": ["ሰላም ለዓለም! እንዴት ነህ?"],
    "ka": ["გამარჯობა მსოფლიო!"],
    "hy": ["Բարեւ աշխարհ!"],
    "my": ["မင်္ဂလာပါ ကမ္ဘာလောက"],
    "km": ["សួស្តី​ពិភពលោក"],
}

WORDS_BY_LANG = {
    "zh": list("的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学"
               "对可她里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面"
               "公同三已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明其种声全工己话儿者向情部"
               "视频图像模型语言机器学习数据计算"),
    "ja": ["これ", "は", "テスト", "です", "日本語", "の", "文章", "を", "書く", "ことが", "できます",
           "カタカナ", "ひらがな", "漢字", "コンピューター", "ビデオ", "東京", "大阪", "ありがとう",
           "ございます", "すみません", "お願いします", "ｶﾞｷﾞｸﾞ", "ヴァイオリン", "〜", "・", "「", "」"],
    "ko": ["안녕", "하세요", "감사합니다", "사랑", "해요", "한국어", "컴퓨터", "비디오", "서울", "부산",
           "학교", "친구", "음식", "맛있어요", "네", "아니요", "뭐", "해", "?", "!"],
    "ar": ["مرحبا", "شكرا", "كتاب", "مدرسة", "السلام", "عليكم", "الفيديو", "الحاسوب", "اللغة", "العربية",
           "في", "من", "إلى", "على", "هذا", "٠١٢", "٣٤٥٦", "،", "؛"],
    "hi": ["नमस्ते", "धन्यवाद", "भारत", "हिन्दी", "किताब", "स्कूल", "दोस्त", "खाना", "पानी", "है", "में",
           "का", "की", "के", "और", "१२३", "।", "क्षत्रिय", "ज्ञान", "श्री"],
    "th": ["สวัสดี", "ขอบคุณ", "ครับ", "ค่ะ", "ประเทศ", "ไทย", "ภาษา", "อาหาร", "น้ำ", "บ้าน", "รถ",
           "กรุงเทพ", "๑๒๓", "ๆ", "ฯ", "เ", "แ", "โ", "ใ", "ไ"],
    "ru": ["привет", "спасибо", "Россия", "язык", "книга", "школа", "друг", "еда", "вода", "дом",
           "ПРИВЕТ", "Москва", "ёлка", "Ёж", "съел", "и", "в", "на", "не", "что"],
    "ko_jamo": ["\u1100\u1161", "\u1112\u1161\u11ab", "\u110b\u1175\u11af", "\u3131", "\u314f", "ㅋㅋㅋ", "ㅠㅠ"],
}

EDGE_CASES = [
    " ", "  ", "   ", "\t", "\n", "\r", "\r\n", "\n\r", "\n\n\n", " \n", "\n ", " \n ", "\t\n\t",
    "a ", " a", "a  ", "  a", "a\n", "\na", "a \n", "a\n ", "a \n b", "a  b", "a   b", "a\t\tb",
    "hello world", "hello  world", "hello   world", "hello \n world", "hello\r\n\r\nworld",
    "x   \n", "x \t \n\n  y", "\u00a0", "a\u00a0b", "a \u00a0b", "\u3000", "a\u3000\u3000b",
    "\u2028", "\u2029", "a\u2028b", "\x85", "a\x85b", "\x0b\x0c", "a\x0bb", "\x1c\x1d\x1e\x1f",
    "a\x1cb", "a \x1f b", "\u200b", "a\u200bb", "\ufeff", "\ufeffhello", "\u180e", "a\u180eb",
    "'s", "'S", "'t", "'re", "'RE", "'rE", "'ve", "'m", "'M", "'ll", "'LL", "'lL", "'d", "'D",
    "'", "''", "'''", "'x", "'st", "'sa", "'ss", "'ſ", "'ſt", "'K", "'\u212a", "x'ſ", "don'ſ",
    "I'm", "I'M", "you're", "YOU'RE", "it's", "IT'S", "can't", "CAN'T", "we'll", "WE'LL",
    "she'd", "SHE'D", "they've", "THEY'VE", "o'clock", "rock'n'roll", "'tis", "'Twas",
    "1'000'000", "a'1", "'\n", "' s", "a 's", "a's's's", "'s's", "’s",
    "0", "00", "000", "0000", "12345678901234567890", "3.14159", "-1", "+1", "1e10", "1,000",
    "¹²³", "½", "Ⅻ", "٣", "१२", "①②", "𝟎𝟏", "𝟘",
    "a1b2c3", "abc123def", "x²", "H₂O", "CO₂",
    "!!!", "???", "...", "…", "!?", "#!", "::", "->", "=>", "<=", "!=", "===", "//", "/*", "*/",
    "( )", "[]", "{}", "<>", "@@", "$$", "%%", "^^", "&&", "||", "~~", "__", "--", "++", "**",
    " !", " !!", " !\n", " !\n\n", "!\r\n", " #\r\r", " .\n\n\n ", "a.\n", "a. \n",
    "é", "e\u0301", "E\u0301", "\u0301", "\u0301a", "a\u0301\u0301", "\u0301\u0301\u0301",
    " \u0301", "\n\u0301", "1\u0301", "\u0915\u093f", "\u0627\u064e", "x\u20d7",
    "Å", "A\u030a", "\u212b", "Ω", "\u2126", "ﬁ", "ﬀ", "Ⓐ", "㍿", "ｱ", "ｶﾞ",
    "가", "\u1100\u1161", "\u1100\u1161\u11a8", "각", "\u3131\u314f",
    "😀", "👍🏽", "👨‍👩‍👧‍👦", "🇺🇸", "🇺🇸🇬🇧", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "#️⃣", "❤️", "❤", "\ufe0f",
    "a😀b", " 😀", "😀 ", "😀😀😀", "😀\n", "\n😀",
    "\x00", "a\x00b", "\x00\x00", "\x7f", "\x80", "\x9f", "\ufffd", "\uffff", "\U0010ffff",
    "\ue000", "\U000e0001", "\U0001f9ff",
    "<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|im_start|>user\nHello<|im_end|>\n",
    "<|im_start|><|im_end|>", "<|im_start|><|im_start|>", "<<|im_start|>>", "<|<|im_end|>|>",
    "<|im_st", "<|im_start", "<|im_start|", "<|im_start|>|>", "x<|im_start|>y", " <|im_end|> ",
    "\n<|im_end|>\n", "<|endoftext|><|endoftext|>", "<|endoftext|>text", "<tool_call>\n{}\n</tool_call>",
    "<think>reasoning</think>answer", "<tool_response>ok</tool_response>",
    "<|fim_prefix|>def f():<|fim_suffix|>\n<|fim_middle|>", "<|repo_name|>x<|file_sep|>a.py",
    "<|vision_start|><|video_pad|><|vision_end|>", "<|image_pad|>" * 5,
    "<|video_token|>", "<|image_token|>", "e\u0301<|im_end|>\u0301", "<|im_end|>\u0301",
    "A" * 300, "a" * 257, "ab" * 200, " " * 100, "\n" * 50, "\t" * 40, "\r\n" * 30, "." * 100,
    "1" * 100, "-" * 80, "=" * 80, "#" * 64, "😀" * 40,
]

# Code points where HF tokenizers' Unicode data differs from utf8proc 2.8's
# (tools/reference/tokenizer/unicode_diff.py): combining marks that HF's NFC
# treats as class-0 starters, and Unicode 16 letters/digits that HF's regex
# engine knows.  First, middle and last of each range.
NFC_NEWER_MARKS = [
    0x007FD, 0x00898, 0x0089B, 0x0089F, 0x008CA, 0x008CE, 0x008D3, 0x009FE, 0x00C3C, 0x00D3B,
    0x00D3C, 0x00EBA, 0x01715, 0x01ABF, 0x01AC6, 0x01ACE, 0x01DF6, 0x01DF8, 0x01DFA, 0x0A82C,
    0x10D24, 0x10D25, 0x10D27, 0x10EAB, 0x10EAC, 0x10EFD, 0x10EFE, 0x10EFF, 0x10F46, 0x10F4B,
    0x10F50, 0x10F82, 0x10F83, 0x10F85, 0x11070, 0x1133B, 0x1145E, 0x11839, 0x1183A, 0x1193D,
    0x1193E, 0x11943, 0x119E0, 0x11A34, 0x11A47, 0x11A99, 0x11D42, 0x11D44, 0x11D45, 0x11D97,
    0x11F41, 0x11F42, 0x16FF0, 0x16FF1, 0x1E08F, 0x1E130, 0x1E133, 0x1E136, 0x1E2AE, 0x1E2EC,
    0x1E2ED, 0x1E2EF, 0x1E4EC, 0x1E4ED, 0x1E4EF
]
REGEX_NEWER_CHARS = [
    0x01C89, 0x01C8A, 0x0A7CB, 0x0A7CC, 0x0A7CD, 0x0A7DA, 0x0A7DB, 0x0A7DC, 0x105C0, 0x105D9,
    0x105F3, 0x10D40, 0x10D44, 0x10D49, 0x10D4A, 0x10D57, 0x10D65, 0x10D6F, 0x10D7A, 0x10D85,
    0x10EC2, 0x10EC3, 0x10EC4, 0x11380, 0x11384, 0x11389, 0x1138B, 0x1138E, 0x11390, 0x113A2,
    0x113B5, 0x113B7, 0x113D1, 0x113D3, 0x116D0, 0x116D9, 0x116E3, 0x11BC0, 0x11BD0, 0x11BE0,
    0x11BF0, 0x11BF4, 0x11BF9, 0x13460, 0x13C2D, 0x143FA, 0x16100, 0x1610E, 0x1611D, 0x16130,
    0x16134, 0x16139, 0x16D40, 0x16D56, 0x16D6C, 0x16D70, 0x16D74, 0x16D79, 0x18CFF, 0x1CCF0,
    0x1CCF4, 0x1CCF9, 0x1E5D0, 0x1E5DE, 0x1E5ED, 0x1E5F0, 0x1E5F1, 0x1E5F5, 0x1E5FA, 0x2EBF0,
    0x2ED26, 0x2EE5D
]
