// Regenerates DeepExtension.Tests/TestData/tokenizer-variants.json: the reference models' vocabularies with the
// pre-tokenization of real families, encoded by Hugging Face's tokenizers.js (checked first against the
// reference models' own Hugging Face ids). Run from this folder after `npm install @huggingface/tokenizers@0.2.0`:
//   node make_tokenizer_variants.mjs
import { Tokenizer } from "@huggingface/tokenizers";
import fs from "fs";
import path from "path";
import { fileURLToPath } from "url";
const testData = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "DeepExtension.Tests", "TestData");
const ref = path.join(testData, "reference-models");
const llama3 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const qwen2 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const seq = (pattern) => ({ type: "Sequence", pretokenizers: [
  { type: "Split", pattern: { Regex: pattern }, behavior: "Isolated", invert: false },
  { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: false }] });
// sanity: the unmodified reference must match HF exactly
for (const base of ["tiny-llama", "tiny-qwen2"]) {
  const tok = new Tokenizer(JSON.parse(fs.readFileSync(`${ref}/${base}/tokenizer.json`)), JSON.parse(fs.readFileSync(`${ref}/${base}/tokenizer_config.json`)));
  const r = JSON.parse(fs.readFileSync(`${ref}/${base}/reference.json`));
  if (!r.tokenizer.every(s => JSON.stringify(tok.encode(s.text, { add_special_tokens: false }).ids) === JSON.stringify(s.ids)))
    throw new Error(`tokenizers.js does not reproduce ${base}`);
}
const texts = JSON.parse(fs.readFileSync(`${ref}/tiny-llama/reference.json`)).tokenizer.map(s => s.text).concat([
  "12345678 and 3.14159", "I'M here, you're THERE; they'LL go", "Hello!!! ...\r\n\n  x\ty", "don't STOP me now",
  "<|im_start|>user\nnumbers 2024-11-22<|im_end|>\n", "  \n\n  trailing   ", "e\u0301t\u00e9 caf\u00e9", "A–B “quoted” 😀😀 ok", "mixed123abc456", ""]);
const variants = [
  { name: "llama3-split-ignore-merges", base: "tiny-llama", pre: seq(llama3), ignore_merges: true, normalizer: null },
  { name: "llama3-split", base: "tiny-llama", pre: seq(llama3), ignore_merges: false, normalizer: null },
  { name: "qwen2-split-nfc", base: "tiny-qwen2", pre: seq(qwen2), ignore_merges: false, normalizer: { type: "NFC" } },
];
const out = [];
for (const v of variants) {
  const json = JSON.parse(fs.readFileSync(`${ref}/${v.base}/tokenizer.json`));
  json.pre_tokenizer = v.pre; json.model.ignore_merges = v.ignore_merges; json.normalizer = v.normalizer;
  const config = JSON.parse(fs.readFileSync(`${ref}/${v.base}/tokenizer_config.json`));
  const tok = new Tokenizer(json, config);
  out.push({ name: v.name, tokenizer: json, samples: texts.map(t => ({ text: t, ids: tok.encode(t, { add_special_tokens: false }).ids })) });
}
fs.writeFileSync(path.join(testData, "tokenizer-variants.json"), JSON.stringify({
  about: "Byte-level BPE tokenizers with the pre-tokenization of real families (Llama-3's and Qwen2's Split regex before a ByteLevel step without regex, ignore_merges, NFC), built on the reference models' vocabularies, with the ids that Hugging Face's tokenizers.js 0.2.0 gives (it reproduces the reference models' Hugging Face ids exactly). Made by tools/tokenizer-oracle/make_tokenizer_variants.mjs.",
  variants: out }));
