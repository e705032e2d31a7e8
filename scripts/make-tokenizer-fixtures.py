#!/usr/bin/env python3
"""Regenerates the Hugging Face tokenizer fixtures under Tests/VLLMTokenizersTests/Fixtures/hf/.

    pip install tokenizers transformers sentencepiece protobuf gguf
    scripts/fetch-default-model.sh && python3 scripts/make-tokenizer-fixtures.py

Writes one directory per tokenizer (tokenizer.json, tokenizer_config.json, chat templates) and
expected.json: the `tokenizers` library's ids and decodes for a few thousand random and
adversarial strings, which the Swift conformance test compares exactly. CI does not run this.

  smollm2          the default GGUF model's byte-level BPE, converted by transformers and given
                   SmolLM2's real pre-tokenizer (Digits + ByteLevel); merges as "a b" strings
  llama2-legacy    SentencePiece BPE with byte fallback (Llama 2 "legacy": Prepend + Replace
                   normalizer, Replace/ByteFallback/Fuse/Strip decoder, "<s> $A")
  metaspace        the same vocabulary behind a Metaspace pre-tokenizer (prepend_scheme first),
                   a Metaspace decoder, Llama-3-style TemplateProcessing and added tokens with
                   lstrip / rstrip / single_word / normalized
  qwen2            byte-level BPE with NFC, the Qwen2 Split regex and merges as [a, b] pairs
  llama3           byte-level BPE with the Llama 3 regex, ignore_merges, "<|begin_of_text|> $A"
  splits           Split behaviours (every one, invert, String and Regex patterns), Digits,
                   NFKC + Replace normalizers, ByteLevel with add_prefix_space, RobertaProcessing
  o200k            a regex with no hand-written matcher (GPT-4o's), run by Swift's Regex
  gpt2             ByteLevel alone with add_prefix_space and its built-in regex
  metaspace-split  Metaspace with prepend_scheme always and split, Metaspace decoder, NFKC
  origin           Replace normalizers that move the text's first character, a Split, then
                   Metaspace with prepend_scheme first (which looks at original offsets)
  unk-fused        no byte fallback: unknown characters become <unk>, runs fused into one
  unk-separate     the same with fuse_unk false
  no-unk           neither byte fallback nor unk_token: unknown characters vanish
The last six are checked on the first SMALL_CASES strings only, to keep the fixtures small.
"""
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers, Regex

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "VLLMTokenizersTests", "Fixtures", "hf")
GGUF = os.path.expanduser("~/.cache/swift-vllm/models/SmolLM2-135M-Instruct.Q4_1.gguf")

GPT2_RE = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
LLAMA3_RE = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
             r"|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2_RE = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
            r"|\s*[\r\n]+|\s+(?!\S)|\s+")
O200K_RE = "|".join([
    r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
    r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
    r"\p{N}{1,3}", r" ?[^\s\p{L}\p{N}]+[\r\n/]*", r"\s*[\r\n]+", r"\s+(?!\S)", r"\s+",
])

SMOL_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\\n' }}"
    "{% endif %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")

# ---------------------------------------------------------------------------------------------
# Text: a training corpus and the test strings, all from fixed seeds.

SCRIPTS = {
    "latin": "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "accented": "àáâãäåæçèéêëìíîïðñòóôõöøùúûüýþÿĀāĂăĄąĆćČčĎďĐđĒēĖėĘęĚěĞğĢģĪīĮįİıĶķĹĺĻļĽľŁłŃńŅņŇňŌōŐőŒœŔŕŘřŚśŞşŠšŢţŤťŪūŮůŰűŲųŹźŻżŽžß",
    "greek": "αβγδεζηθικλμνξοπρστυφχψωΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩάέήίόύώς",
    "cyrillic": "абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ",
    "arabic": "ابتثجحخدذرزسشصضطظعغفقكلمنهوي",
    "hebrew": "אבגדהוזחטיכלמנסעפצקרשת",
    "devanagari": "अआइईउऊएऐओऔकखगघचछजझटठडढणतथदधनपफबभमयरलवशषसह्ािीुूेैोौं",
    "thai": "กขคงจฉชซญดตถทนบปผพฟภมยรลวศสหอฮะาิีึืุูเแโใไ่้๊๋",
    "cjk": "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可她里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明其种声全工己话儿者向情部正名定女问力机给等几很业最间新什打便位因重被走电四第门相次东政海口使教西再平真听世气信北少关并内加化由却代军产入先山五太水万市眼体别处总才场师书比住员九笑性通目华报立马命张活难神数件安表原车白应路期叫死常提感金何更反合放做系计或司利受光王果亲界及今京务制解各任至清物台象记边共风战干接它许八特觉望直服毛林题建南度统色字请交爱让认算论百吃义科怎元社术结六功指思非流每青管夫连远资队跟带花快条院变联言权往展该领传近留红治决周保达办运武半候七必城父强步完革深区即求品士转量空甚众技轻程告江语英基派满式李息写呢识极令黄德收脸钱党倒未持取设始版双历越史商千片容研像找友孩站广改议形委早房音火际则首单据导影失拿网香似斯专石若兵弟谁校读志飞观争究包组造落视济喜离虽坐集编宝谈府拉黑且随格尽剑讲布杀微怕母调局根曾准团段终乐切级克精哪官示冷域读",
    "kana": "あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろわをんアイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワヲンー",
    "hangul": "가나다라마바사아자차카타파하한국어세계안녕하세요감사합니다",
    "emoji": ["🙂", "😀", "🚀", "🔥", "👍", "👍🏽", "👨‍👩‍👧", "👩🏾‍💻", "🏳️‍🌈", "🇫🇷", "🇯🇵", "❤️", "✨", "🤖", "🧑‍🤝‍🧑", "😂", "🎉", "☕", "⭐", "🐍"],
    "digits": "0123456789",
    "numbers": ["١٢٣", "٤٥", "①", "②③", "½", "²", "³", "Ⅻ", "〇", "๓", "४२", "𝟙𝟚", "٣.١٤"],
    "punct": list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~¡¿«»—–…‘’“”•·、。，！？：；「」『』（）【】"),
    "space": [" ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", " \n", "\u00a0", "\u3000", "\u2009", "\u200b", "\u2028", "\u0085", " \t ", "\r"],
    "combining": ["e\u0301", "a\u0308", "o\u0302\u0323", "n\u0303", "\u1100\u1161\u11a8", "i\u0307\u0301", "u\u031b\u0309", "z\u0336\u0335"],
    "compat": ["ﬁ", "ﬂ", "Ａ", "ｂ", "１２", "㍿", "™", "℃", "Ⅳ", "ｶﾀｶﾅ", "①", "ſ", "µ", "Å", "ﬀ", "㈱"],
    "odd": ["\u0000", "\u001b", "\ufeff", "\ufffd", "\ue000", "\u200d", "\u2581", "▁▁", "<0x41>", "<0xZZ>", "Ġ", "Ċ"],
}

SPECIAL_STRINGS = ["<s>", "</s>", "<unk>", "<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|begin_of_text|>",
                   "<|eot_id|>", "<mask>", "<sep>", "hello", "[NEWTOK]", "<tool_call>", "<repo_name>", "<|user|>",
                   "<|im_", "<s", "</s", "<<s>>", "<s><s>", " <s> ", "  <mask>  ", "<sep>   x", "xhello", "hello_", "hello!"]

WORDS = ["the", "of", "and", "to", "in", "is", "you", "that", "it", "he", "was", "for", "on", "are", "as", "with",
         "his", "they", "I", "at", "be", "this", "have", "from", "or", "one", "had", "by", "word", "but", "not",
         "what", "all", "were", "we", "when", "your", "can", "said", "there", "use", "an", "each", "which",
         "she", "do", "how", "their", "if", "will", "up", "other", "about", "out", "many", "then", "them",
         "these", "so", "some", "her", "would", "make", "like", "him", "into", "time", "has", "look", "two",
         "more", "write", "go", "see", "number", "no", "way", "could", "people", "my", "than", "first",
         "water", "been", "call", "who", "oil", "its", "now", "find", "long", "down", "day", "did", "get",
         "come", "made", "may", "part", "tokenizer", "Hello", "World", "Python", "Swift", "vLLM", "don't",
         "I'm", "it's", "we'll", "they've", "She'd", "you're", "HELLO'S", "O'Neil", "rock'n'roll", "def",
         "return", "import", "func", "let", "var", "print()", "x=1;", "foo_bar", "camelCase", "snake_case",
         "https://example.com/a?b=c", "user@example.com", "#include", "<div>", "</div>", "{\"a\": 1}"]

MULTILINGUAL = [
    "Привет, как дела? Всё хорошо.", "こんにちは世界、元気ですか。", "你好，世界！今天天气很好。", "안녕하세요 세계, 감사합니다.",
    "مرحبا بالعالم، كيف حالك؟", "שלום עולם", "नमस्ते दुनिया, आप कैसे हैं?", "สวัสดีชาวโลก", "Γειά σου Κόσμε",
    "Ünïcödé façade naïve café résumé", "Straße Größe Übung", "Ça va très bien, merci !", "¿Qué tal? ¡Muy bien!",
]


def corpus(seed=1234, lines=6000):
    r = random.Random(seed)
    out = []
    for i in range(lines):
        if i % 5 == 0:
            out.append(r.choice(MULTILINGUAL))
            continue
        n = r.randint(4, 18)
        ws = []
        for _ in range(n):
            k = r.random()
            if k < 0.75:
                ws.append(r.choice(WORDS))
            elif k < 0.85:
                ws.append(str(r.randint(0, 100000)))
            else:
                ws.append("".join(r.choice(SCRIPTS["latin"]) for _ in range(r.randint(2, 9))))
        s = " ".join(ws)
        if r.random() < 0.5:
            s = s[0].upper() + s[1:] + r.choice([".", "!", "?", ",", ":", ";", "..."])
        out.append(s)
    return out


def segment(r):
    kind = r.choice(["word", "word", "word", "words", "number", "digits", "script", "script", "emoji", "punct",
                     "space", "space", "combining", "compat", "odd", "special", "special", "multi", "apos"])
    if kind == "word":
        return r.choice(WORDS)
    if kind == "words":
        return " ".join(r.choice(WORDS) for _ in range(r.randint(2, 6)))
    if kind == "number":
        return r.choice(SCRIPTS["numbers"])
    if kind == "digits":
        return "".join(r.choice(SCRIPTS["digits"]) for _ in range(r.randint(1, 14)))
    if kind == "script":
        alphabet = SCRIPTS[r.choice(["latin", "accented", "greek", "cyrillic", "arabic", "hebrew", "devanagari",
                                     "thai", "cjk", "kana", "hangul"])]
        return "".join(r.choice(alphabet) for _ in range(r.randint(1, 12)))
    if kind == "multi":
        return r.choice(MULTILINGUAL)
    if kind == "apos":
        return r.choice(["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'LL", "''", "'", "’s", "'x"])
    return r.choice(SCRIPTS[kind] if kind != "special" else SPECIAL_STRINGS)


def test_strings(seed=4321, count=1200):
    fixed = [
        "", " ", "  ", "\t", "\n", "\r\n", " \n ", "a", "Hello world", " Hello world", "Hello  world ",
        "Hello, world! How's it going? I'm fine; you'll see.", "I'M DON'T 'S 'Ll", "can't won't shouldn't've",
        "12345678901234567890", "3.14159 and 2,718", "year 2024: 10% of 1000000", "1 22 333 4444 55555",
        "x" * 600, "ab" * 300 + " " + "9" * 200, "😀" * 50, "\n" * 30, " " * 40 + "x", "\t\t\t\ttabbed",
        "line1\nline2\r\nline3\rline4", "trailing spaces   ", "   leading", "mixed\u00a0nbsp\u3000ideographic",
        "<s>", "</s>", "<s>hello</s>", " <s> hello </s> ", "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
        "<|im_start|><|im_start|><|im_end|>", "a<|im_end|>b", "<|im_start", "<|endoftext|>", "<|begin_of_text|>Hi",
        "<mask>", "x <mask> y", "x<mask>y", "x  <mask>  y", "<sep>", "a <sep>  b", "hello", "hello world",
        "say hello!", "xhello", "hello_there", "ahello b", "[NEWTOK]", "a [NEWTOK] b", "a[NEWTOK]b",
        "<tool_call>{\"name\": \"f\"}</tool_call>", "<unk>", "<0x41><0x0A>", "▁", "▁▁hello", "Ġhello",
        "e\u0301 vs é", "ﬁle ﬂow ＡＢＣ ㍿", "Ⅻ ½ ² ①②③", "١٢٣٤ ٥", "\u0000\u001b[31mred\u001b[0m",
        "\ufeffBOM", "zero\u200bwidth", "👨‍👩‍👧‍👦 family", "🇫🇷🇯🇵🇺🇸", "👍🏽👍🏿", "🏳️‍🌈", "a\u200db",
        "Ελληνικά and English", "Русский текст, да.", "日本語のテキストです。", "中文文本，测试。", "한국어 텍스트",
        "العربية نص", "עברית", "हिन्दी पाठ", "ไทย ข้อความ", "z\u0336\u0335a\u0308l\u0301g\u0323o",
        "def f(x):\n    return x ** 2\n", "if (a && b) { c(); }", "https://example.com/path?q=1&r=2#frag",
        "\"quoted\" 'single' `back`", "...!!!???", "--==++**", "a-b--c---d", "A-B, C. D! E? F:",
        "CamelCaseWord ALLCAPS lowercase", "tab\tseparated\tvalues", "\u2028\u2029\u0085",
        "xxx yyy xx", "X x XX", "\t\t", "hello\thello\n\nhello", "   \n   \n", "'s's's", "''''",
    ]
    r = random.Random(seed)
    out = list(fixed)
    while len(out) < count:
        n = r.randint(1, 10)
        parts = [segment(r) for _ in range(n)]
        seps = ["", " ", " ", "  ", "\n", ""]
        s = parts[0]
        for p in parts[1:]:
            s += r.choice(seps) + p
        if r.random() < 0.05:
            s = s * r.randint(2, 5)
        out.append(s)
    return out


# ---------------------------------------------------------------------------------------------
# Tokenizers.

def added(content, id, special=True, normalized=False, lstrip=False, rstrip=False, single_word=False):
    return {"id": id, "content": content, "single_word": single_word, "lstrip": lstrip, "rstrip": rstrip,
            "normalized": normalized, "special": special}


SMALL_CASES = 300


def gpt2(base):
    j = json.loads(json.dumps(base))
    n = len(j["model"]["vocab"])
    j["added_tokens"] = [added("<|endoftext|>", n)]
    j["normalizer"] = None
    j["pre_tokenizer"] = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True}
    j["decoder"] = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True}
    j["post_processor"] = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True}
    j["model"]["ignore_merges"] = False
    return j, {"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "tokenizer_class": "GPT2Tokenizer"}, {}


def metaspace_split(base):
    j = json.loads(json.dumps(base))
    j["normalizer"] = {"type": "NFKC"}
    j["pre_tokenizer"] = {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True}
    j["decoder"] = {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True}
    j["post_processor"] = {"type": "TemplateProcessing",
                           "single": [{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}],
                           "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
                           "special_tokens": {"</s>": {"id": "</s>", "ids": [2], "tokens": ["</s>"]}}}
    return j, {"eos_token": "</s>", "unk_token": "<unk>", "tokenizer_class": "T5Tokenizer"}, {}


def origin(base):
    j = json.loads(json.dumps(base))
    j["normalizer"] = {"type": "Sequence", "normalizers": [
        {"type": "Replace", "pattern": {"String": "He"}, "content": "h"},
        {"type": "Replace", "pattern": {"Regex": "^x"}, "content": ""},
        {"type": "Replace", "pattern": {"String": "<"}, "content": "[["}]}
    j["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": r"\p{P}"}, "behavior": "Isolated", "invert": False},
        {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": False}]}
    j["decoder"] = {"type": "Sequence", "decoders": [
        {"type": "Replace", "pattern": {"String": "▁"}, "content": " "}, {"type": "ByteFallback"},
        {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 2, "stop": 0}]}
    j["post_processor"] = None
    return j, {"bos_token": "<s>", "eos_token": "</s>", "tokenizer_class": "PreTrainedTokenizerFast"}, {}


def unknown(base, fuse, unk):
    j = json.loads(json.dumps(base))
    m = j["model"]
    m["byte_fallback"] = False
    m["fuse_unk"] = fuse
    m["unk_token"] = "<unk>" if unk else None
    # Without byte fallback the byte tokens are plain vocabulary entries that text never reaches.
    return j, {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>" if unk else None,
               "tokenizer_class": "PreTrainedTokenizerFast"}, {}


def write_dir(name, tok_json, config, extra_files=None):
    d = os.path.join(OUT, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    with open(os.path.join(d, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tok_json, f, ensure_ascii=False, separators=(",", ":"))
    if config is not None:
        with open(os.path.join(d, "tokenizer_config.json"), "w", encoding="utf-8") as f:
            json.dump(config, f, ensure_ascii=False, indent=2)
    for rel, text in (extra_files or {}).items():
        p = os.path.join(d, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w", encoding="utf-8") as f:
            f.write(text)
    return d


def smollm2():
    from transformers import AutoTokenizer
    if not os.path.exists(GGUF):
        sys.exit(f"missing {GGUF}: run scripts/fetch-default-model.sh")
    with tempfile.TemporaryDirectory() as tmp:
        tok = AutoTokenizer.from_pretrained(os.path.dirname(GGUF), gguf_file=os.path.basename(GGUF))
        tok.save_pretrained(tmp)
        with open(os.path.join(tmp, "tokenizer.json"), encoding="utf-8") as f:
            j = json.load(f)
        with open(os.path.join(tmp, "chat_template.jinja"), encoding="utf-8") as f:
            template = f.read()
    # transformers' GGUF converter writes plain ByteLevel; SmolLM2's own tokenizer.json (and the
    # GGUF's "smollm" pre-tokenizer) split every digit first.
    j["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "Digits", "individual_digits": True},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}]}
    j["post_processor"] = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True}
    m = j["model"]
    m["continuing_subword_prefix"] = None
    m["end_of_word_suffix"] = None
    m["merges"] = [a + " " + b for a, b in m["merges"]]
    config = {"add_prefix_space": False, "bos_token": "<|im_start|>", "eos_token": "<|im_end|>",
              "pad_token": "<|im_end|>", "unk_token": "<|endoftext|>", "model_max_length": 8192,
              "clean_up_tokenization_spaces": False, "tokenizer_class": "GPT2Tokenizer",
              "vocab_size": 49152, "chat_template": template}
    return j, config, {}


def spm_vocab(tmp):
    import sentencepiece as spm
    from transformers.convert_slow_tokenizer import SentencePieceExtractor
    from tokenizers.models import BPE
    text = os.path.join(tmp, "corpus.txt")
    with open(text, "w", encoding="utf-8") as f:
        f.write("\n".join(corpus()))
    prefix = os.path.join(tmp, "spm")
    spm.SentencePieceTrainer.train(
        input=text, model_prefix=prefix, model_type="bpe", vocab_size=1500, byte_fallback=True,
        character_coverage=0.9995, normalization_rule_name="identity", remove_extra_whitespaces=False,
        split_digits=True, allow_whitespace_only_pieces=True, unk_id=0, bos_id=1, eos_id=2, pad_id=-1,
        num_threads=1, minloglevel=2)
    kw = SentencePieceExtractor(prefix + ".model").extract(BPE)
    return kw["vocab"], [list(m) for m in kw["merges"]]


def spm_model(vocab, merges):
    return {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None,
            "end_of_word_suffix": None, "fuse_unk": True, "byte_fallback": True, "ignore_merges": False,
            "vocab": vocab, "merges": merges}


def llama2_legacy(vocab, merges):
    j = {"version": "1.0", "truncation": None, "padding": None,
         "added_tokens": [added("<unk>", 0), added("<s>", 1), added("</s>", 2),
                          added("[NEWTOK]", len(vocab), special=False, normalized=True),
                          added("<|user|>", len(vocab) + 1)],
         "normalizer": {"type": "Sequence", "normalizers": [
             {"type": "Prepend", "prepend": "▁"}, {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
         "pre_tokenizer": None,
         "post_processor": {"type": "TemplateProcessing",
                            "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                            "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                                     {"SpecialToken": {"id": "<s>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
                            "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}},
         "decoder": {"type": "Sequence", "decoders": [
             {"type": "Replace", "pattern": {"String": "▁"}, "content": " "}, {"type": "ByteFallback"},
             {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
         "model": spm_model(vocab, merges)}
    config = {"add_bos_token": True, "add_eos_token": False, "bos_token": "<s>", "eos_token": "</s>",
              "unk_token": "<unk>", "pad_token": None, "legacy": True, "model_max_length": 4096,
              "tokenizer_class": "LlamaTokenizer", "clean_up_tokenization_spaces": False,
              "chat_template": [{"name": "default", "template": "{% for m in messages %}[INST] {{ m['content'] }} [/INST]{% endfor %}"},
                                {"name": "tool_use", "template": "{{ tools | tojson }}{% for m in messages %}{{ m['content'] }}{% endfor %}"}]}
    return j, config, {}


def metaspace(vocab, merges):
    n = len(vocab)
    j = {"version": "1.0", "truncation": None, "padding": None,
         "added_tokens": [added("<unk>", 0), added("<s>", 1), added("</s>", 2),
                          added("<|begin_of_text|>", n), added("<|eot_id|>", n + 1),
                          added("<mask>", n + 2, lstrip=True),
                          added("<sep>", n + 3, special=False, rstrip=True),
                          added("hello", n + 4, special=False, single_word=True)],
         "normalizer": None,
         "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": False},
         "post_processor": {"type": "TemplateProcessing",
                            "single": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}},
                                       {"Sequence": {"id": "A", "type_id": 0}},
                                       {"SpecialToken": {"id": "<|eot_id|>", "type_id": 0}}],
                            "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
                            "special_tokens": {
                                "<|begin_of_text|>": {"id": "<|begin_of_text|>", "ids": [n], "tokens": ["<|begin_of_text|>"]},
                                "<|eot_id|>": {"id": "<|eot_id|>", "ids": [n + 1], "tokens": ["<|eot_id|>"]}}},
         "decoder": {"type": "Sequence", "decoders": [
             {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": False},
             {"type": "ByteFallback"}, {"type": "Fuse"}]},
         "model": spm_model(vocab, merges)}
    config = {"bos_token": "<|begin_of_text|>", "eos_token": {"content": "<|eot_id|>", "lstrip": False, "normalized": False,
                                                               "rstrip": False, "single_word": False, "__type": "AddedToken"},
              "model_max_length": 1000000000000000019884624838656, "tokenizer_class": "PreTrainedTokenizerFast"}
    return j, config, {}


def train_byte_level(pre, normalizer, specials, vocab_size=2500):
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizer
    tok.pre_tokenizer = pre
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, show_progress=False, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(corpus(), trainer=trainer)
    j = json.loads(tok.to_str())
    # The trainer puts the special tokens first; move them after the vocabulary as real models have.
    m = j["model"]
    vocab = {t: i for t, i in m["vocab"].items() if t not in specials}
    order = sorted(vocab, key=vocab.get)
    vocab = {t: i for i, t in enumerate(order)}
    m["vocab"] = vocab
    m["merges"] = [list(p) for p in m["merges"]] if m["merges"] and isinstance(m["merges"][0], list) else \
        [p.split(" ") for p in m["merges"]]
    return j, vocab


def qwen2():
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<tool_call>"]
    pre = pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(QWEN2_RE), behavior="isolated", invert=False),
                                   pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    j, vocab = train_byte_level(pre, normalizers.NFC(), specials)
    n = len(vocab)
    j["added_tokens"] = [added("<|endoftext|>", n), added("<|im_start|>", n + 1), added("<|im_end|>", n + 2),
                         added("<tool_call>", n + 3, special=False)]
    j["decoder"] = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}
    j["post_processor"] = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}
    config = {"bos_token": None, "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>", "unk_token": None,
              "model_max_length": 131072, "tokenizer_class": "Qwen2Tokenizer", "add_bos_token": False,
              "errors": "replace", "split_special_tokens": False}
    files = {"chat_template.jinja": "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}",
             "additional_chat_templates/tool_use.jinja": "{{ tools }}<|im_start|>{% for m in messages %}{{ m.content }}{% endfor %}"}
    return j, config, files


def llama3():
    specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"]
    pre = pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(LLAMA3_RE), behavior="isolated", invert=False),
                                   pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False)])
    j, vocab = train_byte_level(pre, None, specials)
    n = len(vocab)
    j["model"]["ignore_merges"] = True
    j["added_tokens"] = [added(s, n + i) for i, s in enumerate(specials)] + \
        [added(f"<|reserved_special_token_{i}|>", n + 3 + i) for i in range(4)]
    j["decoder"] = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True}
    j["post_processor"] = {"type": "Sequence", "processors": [
        {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
        {"type": "TemplateProcessing",
         "single": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
         "pair": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                  {"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
         "special_tokens": {"<|begin_of_text|>": {"id": "<|begin_of_text|>", "ids": [n], "tokens": ["<|begin_of_text|>"]}}}]}
    config = {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>", "model_max_length": 131072,
              "tokenizer_class": "PreTrainedTokenizerFast"}
    return j, config, {}


def splits(base):
    j = json.loads(json.dumps(base))
    n = len(j["model"]["vocab"])
    j["added_tokens"] = [added("<s>", n), added("</s>", n + 1)]
    j["normalizer"] = {"type": "Sequence", "normalizers": [
        {"type": "NFKC"},
        {"type": "Replace", "pattern": {"String": "\t"}, "content": "    "},
        {"type": "Replace", "pattern": {"Regex": "x+"}, "content": "X"}]}
    j["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"String": "--"}, "behavior": "MergedWithPrevious", "invert": False},
        {"type": "Split", "pattern": {"Regex": r"\p{P}"}, "behavior": "MergedWithNext", "invert": False},
        {"type": "Split", "pattern": {"Regex": r"[0-9]+"}, "behavior": "Contiguous", "invert": True},
        {"type": "Split", "pattern": {"Regex": r"\s+"}, "behavior": "Removed", "invert": False},
        {"type": "Split", "pattern": {"Regex": r"[A-Z]"}, "behavior": "Isolated", "invert": False},
        {"type": "Digits", "individual_digits": False},
        {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": False}]}
    j["decoder"] = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True}
    j["post_processor"] = {"type": "RobertaProcessing", "sep": ["</s>", n + 1], "cls": ["<s>", n],
                           "trim_offsets": True, "add_prefix_space": True}
    j["model"]["ignore_merges"] = False
    config = {"bos_token": "<s>", "eos_token": "</s>", "tokenizer_class": "RobertaTokenizer"}
    return j, config, {}


def o200k(base):
    j = json.loads(json.dumps(base))
    n = len(j["model"]["vocab"])
    j["added_tokens"] = [added("<|endoftext|>", n)]
    j["normalizer"] = {"type": "NFC"}
    j["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": O200K_RE}, "behavior": "Isolated", "invert": False},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]}
    j["decoder"] = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True}
    j["post_processor"] = None
    j["model"]["ignore_merges"] = False
    config = {"eos_token": "<|endoftext|>", "tokenizer_class": "GPT2Tokenizer"}
    return j, config, {}


# ---------------------------------------------------------------------------------------------
# Expected outputs.

def expected(d, strings, seed, count):
    strings = strings[:count]
    tok = Tokenizer.from_file(os.path.join(d, "tokenizer.json"))
    noparse = Tokenizer.from_file(os.path.join(d, "tokenizer.json"))
    noparse.encode_special_tokens = True
    # What the post-processor puts around a sequence, found on a probe text.
    probe = tok.encode("probe", add_special_tokens=False).ids
    full = tok.encode("probe", add_special_tokens=True).ids
    k = next(i for i in range(len(full) + 1) if full[i:i + len(probe)] == probe)
    prefix, suffix = full[:k], full[k + len(probe):]
    cases = []
    for s in strings:
        plain = tok.encode(s, add_special_tokens=False).ids
        ids = tok.encode(s, add_special_tokens=True).ids
        raw = noparse.encode(s, add_special_tokens=True).ids
        skip = tok.decode(ids, skip_special_tokens=True)
        keep = tok.decode(ids, skip_special_tokens=False)
        # Space: what follows from earlier fields is written as null (see the Swift test).
        cases.append([plain, None if ids == prefix + plain + suffix else ids, None if raw == ids else raw,
                      None if skip == s else skip, None if keep == skip else keep])
    # Arbitrary id sequences, biased towards special, byte and multi-byte tokens.
    r = random.Random(seed)
    size = tok.get_vocab_size(with_added_tokens=True)
    vocab = tok.get_vocab(with_added_tokens=True)
    interesting = sorted(i for t, i in vocab.items()
                         if t.startswith("<") or any(ord(c) > 0x7f for c in t) or "▁" in t)
    decodes = []
    for _ in range(150):
        ids = [r.choice(interesting) if r.random() < 0.6 else r.randrange(size) for _ in range(r.randint(1, 12))]
        skip = tok.decode(ids, skip_special_tokens=True)
        keep = tok.decode(ids, skip_special_tokens=False)
        decodes.append([ids, skip, None if keep == skip else keep])
    return {"vocab_size": size, "count": count, "prefix": prefix, "suffix": suffix, "cases": cases, "decodes": decodes}


def main():
    strings = test_strings()
    os.makedirs(OUT, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        vocab, merges = spm_vocab(tmp)
    built = {
        "smollm2": smollm2(),
        "llama2-legacy": llama2_legacy(vocab, merges),
        "metaspace": metaspace(vocab, merges),
        "qwen2": qwen2(),
        "llama3": llama3(),
    }
    built["splits"] = splits(built["llama3"][0])
    built["o200k"] = o200k(built["llama3"][0])
    small = {"gpt2": gpt2(built["llama3"][0]),
             "metaspace-split": metaspace_split(built["llama2-legacy"][0]),
             "origin": origin(built["llama2-legacy"][0]),
             "unk-fused": unknown(built["llama2-legacy"][0], fuse=True, unk=True),
             "unk-separate": unknown(built["llama2-legacy"][0], fuse=False, unk=True),
             "no-unk": unknown(built["llama2-legacy"][0], fuse=False, unk=False)}
    built.update(small)
    out = {"strings": strings, "tokenizers": {}}
    for seed, (name, (j, config, files)) in enumerate(built.items()):
        d = write_dir(name, j, config, files)
        out["tokenizers"][name] = expected(d, strings, seed, SMALL_CASES if name in small else len(strings))
        print(f"{name}: {os.path.getsize(os.path.join(d, 'tokenizer.json')) // 1024} KiB", file=sys.stderr)
    path = os.path.join(OUT, "expected.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, separators=(",", ":"))
    print(f"expected.json: {os.path.getsize(path) // 1024} KiB, {len(strings)} strings", file=sys.stderr)


if __name__ == "__main__":
    main()
