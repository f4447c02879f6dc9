"""Shared pieces of train.py, export.py and evaluate.py: the tokenizer, processor and model
configuration of the built-in model, and turning generated examples into model inputs."""
import random
import re
from pathlib import Path

import torch

# SmolVLM-256M/500M-Instruct's chat template (chat_template.json on the Hub), as in
# tools/fixtures/make_smolvlm_fixtures.py.
CHAT_TEMPLATE = (
    "<|im_start|>{% for message in messages %}{{message['role'] | capitalize}}{% if message['content'][0]['type'] == "
    "'image' %}{{':'}}{% else %}{{': '}}{% endif %}{% for line in message['content'] %}{% if line['type'] == 'text' %}"
    "{{line['text']}}{% elif line['type'] == 'image' %}{{ '<image>' }}{% endif %}{% endfor %}<end_of_utterance>\n"
    "{% endfor %}{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}")

# SmolVLM's special tokens, in SmolVLM's relative order (there they follow a 49 152-token base vocabulary).
SPECIAL_TOKENS = (["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<global-img>"]
                  + [f"<row_{r}_col_{c}>" for r in range(1, 7) for c in range(1, 7)]
                  + ["<fake_token_around_image>", "<image>", "<end_of_utterance>"])

# Model shape (see README.md for why): one 256 px tile of 16 px patches (16 x 16 = 256 patches),
# pixel shuffle x2 -> 64 image tokens per image.
TILE = 256
# Per-channel mean and standard deviation of the generated images (300 examples, all tasks and
# levels), as ImageNet statistics are used for natural images. SmolVLM's 0.5/0.5 would put the
# white background these images mostly are at +1 in every input of the patch embedding: run
# builtin-v1 learnt a patch embedding whose response to white (norm ~130) swamped the position
# embeddings (~0.4) and the thin grey strokes of UI sketches, and after 1 000 steps its vision
# tower gave the same output at every position of a sketch (the UI loss was identical with the
# images of the batch shuffled). Centred on the background, a patch's embedding is its strokes.
IMAGE_MEAN = [0.92, 0.9, 0.89]
IMAGE_STD = [0.21, 0.22, 0.24]
MODEL_SHAPES = {
    "small": dict(vision=dict(hidden_size=192, intermediate_size=768, num_hidden_layers=6, num_attention_heads=3,
                              patch_size=16),
                  text=dict(hidden_size=256, intermediate_size=768, num_hidden_layers=4, num_attention_heads=4,
                            num_key_value_heads=2),
                  scale_factor=2),
    "tiny": dict(vision=dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=2,
                             patch_size=16),
                 text=dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=2,
                           num_key_value_heads=1),
                 scale_factor=2),
}


def train_tokenizer(vocab_size, seed, count=12000):
    """A byte-level BPE with SmolVLM's pre-tokenizer (digits split individually) and special tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    from generate import corpus_texts

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                                 pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, special_tokens=SPECIAL_TOKENS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)

    def texts():
        for i in range(200):  # the chat template's own text
            yield "User:"
            yield "\nAssistant:"
        yield from corpus_texts(seed, count)

    tok.train_from_iterator(texts(), trainer=trainer)
    return tok


def make_processor(tokenizer_object, shape="small"):
    from transformers import Idefics3ImageProcessorPil, Idefics3Processor, PreTrainedTokenizerFast

    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tokenizer_object, bos_token="<|im_start|>",
                                        eos_token="<end_of_utterance>", pad_token="<|im_end|>", unk_token="<|endoftext|>",
                                        model_max_length=2048)
    image_processor = Idefics3ImageProcessorPil(size={"longest_edge": TILE}, max_image_size={"longest_edge": TILE},
                                                do_image_splitting=False, resample=1,
                                                image_mean=IMAGE_MEAN, image_std=IMAGE_STD)
    return Idefics3Processor(image_processor=image_processor, tokenizer=tokenizer, image_seq_len=image_seq_len(shape),
                             chat_template=CHAT_TEMPLATE)


def image_seq_len(shape="small"):
    s = MODEL_SHAPES[shape]
    return (TILE // s["vision"]["patch_size"]) ** 2 // s["scale_factor"] ** 2


def make_config(tokenizer, shape="small"):
    from transformers import Idefics3Config

    s = MODEL_SHAPES[shape]
    vocab = len(tokenizer)
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS}
    text = dict(s["text"], vocab_size=vocab, max_position_embeddings=1024, rope_theta=10000.0, rms_norm_eps=1e-5,
                model_type="llama", architectures=["LlamaForCausalLM"], bos_token_id=ids["<|im_start|>"],
                eos_token_id=ids["<end_of_utterance>"], pad_token_id=ids["<|im_end|>"], tie_word_embeddings=True)
    vision = dict(s["vision"], image_size=TILE)
    return Idefics3Config(vision_config=vision, text_config=text, scale_factor=s["scale_factor"],
                          image_token_id=ids["<image>"], tie_word_embeddings=True, pad_token_id=ids["<|im_end|>"])


def init_vision_embeddings(model):
    """SigLIP's own initialisation of the patch and position embeddings (LeCun normal, and normal
    with std 1/sqrt(width)), instead of transformers' generic std 0.02 for every weight: the
    position embeddings start ~3.5x larger, so where a patch is counts from the first step."""
    embeddings = model.model.vision_model.embeddings
    width = embeddings.position_embedding.weight.shape[1]
    fan_in = embeddings.patch_embedding.weight[0].numel()
    with torch.no_grad():
        embeddings.patch_embedding.weight.normal_(0.0, fan_in ** -0.5)
        embeddings.patch_embedding.bias.zero_()
        embeddings.position_embedding.weight.normal_(0.0, width ** -0.5)


def load_processor(folder):
    """The processor with the Pillow image backend (transformers 5 defaults to torchvision)."""
    from transformers import Idefics3ImageProcessorPil, Idefics3Processor

    pil = Idefics3ImageProcessorPil.from_pretrained(folder)
    return Idefics3Processor.from_pretrained(folder, image_processor=pil)


def prompt_text(processor, question):
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": question}]}]
    return processor.apply_chat_template(messages, add_generation_prompt=True)


def encode_examples(processor, examples, answer_weight="sqrt", separate_turns=False, page_words=False):
    """input_ids (right-padded), attention_mask, pixel_values [B, 1, 3, 256, 256], labels (-100
    except on the answers and their <end_of_utterance>) and weights (per token).

    An example with several turns (generate.example(..., questions=k)) becomes a conversation about
    its image, rendered as SmolVLM's chat template renders one: the first question after the image,
    then "\nUser: Q<end_of_utterance>\nAssistant:" before each further answer. Each answer's tokens
    share its weight: 1/sqrt(length) ("sqrt": a long HTML page counts more than one word without
    drowning it) or 1/length ("mean": every answer counts the same). With `page_words`, the words
    an HTML page reads from its sketch weigh as answers of their own (page_word_weights).

    With `separate_turns`, each turn is instead its own one-question prompt sharing the image: the
    row holds the prompt up to and including the image, then each turn's question and answer, and
    the result adds `segments` (per token: 0 for the shared image prompt, k for turn k, -1 for
    padding) and `position_ids` (each turn numbered as if it followed the image alone), from which
    turn_attention_mask() lets a turn see the image prompt and itself only. Why: in a conversation
    a later answer can be copied from an earlier one (a button's word from the HTML page before
    it), so it teaches nothing about reading the image; a separate turn is exactly the one-question
    prompt that inference sees."""
    tokenizer = processor.tokenizer
    eou = tokenizer.convert_tokens_to_ids("<end_of_utterance>")
    pad = tokenizer.pad_token_id
    prompts = [prompt_text(processor, ex["question"]) for ex in examples]
    enc = processor(text=prompts, images=[[ex["image"]] for ex in examples], return_tensors=None)
    pixel_values = torch.as_tensor(enc["pixel_values"]).float()
    rows, labels, weights, segments, positions = [], [], [], [], []
    for ids, ex in zip(enc["input_ids"], examples):
        turns = ex.get("turns") or [(ex["question"], ex["answer"], ex["qtype"])]
        ids = list(ids)
        if separate_turns:
            first = question_suffix(processor, turns[0][0])
            if ids[len(ids) - len(first):] != first:
                raise ValueError("the prompt does not end with its question's own tokens")
            ids = ids[:len(ids) - len(first)]
        row_labels, row_weights = [-100] * len(ids), [0.0] * len(ids)
        row_segments, row_positions = [0] * len(ids), list(range(len(ids)))
        shared = len(ids)
        for turn, (question, answer, qtype) in enumerate(turns):
            if separate_turns:
                asked = question_suffix(processor, question)
            elif turn > 0:
                asked = tokenizer(f"\nUser: {question}<end_of_utterance>\nAssistant:", add_special_tokens=False)["input_ids"]
            else:
                asked = []
            spelt = tokenizer(" " + answer, add_special_tokens=False, return_offsets_mapping=page_words)
            answered = spelt["input_ids"] + [eou]
            answer_weights = [answer_share(len(answered), answer_weight)] * len(answered)
            if page_words and qtype == "ui_html":
                page_word_weights(" " + answer, spelt["offset_mapping"], answer_weights, answer_weight)
            start = shared if separate_turns else len(ids)
            ids += asked + answered
            row_labels += [-100] * len(asked) + answered
            row_weights += [0.0] * len(asked) + answer_weights
            row_segments += [turn + 1] * (len(asked) + len(answered))
            row_positions += list(range(start, start + len(asked) + len(answered)))
        rows.append(ids)
        labels.append(row_labels)
        weights.append(row_weights)
        segments.append(row_segments)
        positions.append(row_positions)
    width = max(len(r) for r in rows)
    input_ids = torch.full((len(rows), width), pad, dtype=torch.long)
    attention = torch.zeros((len(rows), width), dtype=torch.long)
    label_t = torch.full((len(rows), width), -100, dtype=torch.long)
    weight_t = torch.zeros((len(rows), width))
    segment_t = torch.full((len(rows), width), -1, dtype=torch.long)
    position_t = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        input_ids[i, :len(r)] = torch.tensor(r)
        attention[i, :len(r)] = 1
        label_t[i, :len(r)] = torch.tensor(labels[i])
        weight_t[i, :len(r)] = torch.tensor(weights[i])
        segment_t[i, :len(r)] = torch.tensor(segments[i])
        position_t[i, :len(r)] = torch.tensor(positions[i])
    out = dict(input_ids=input_ids, attention_mask=attention, labels=label_t, weights=weight_t, pixel_values=pixel_values)
    if separate_turns:
        out.update(segments=segment_t, position_ids=position_t)
    return out


def answer_share(tokens, answer_weight):
    """The weight of each token of an answer `tokens` long (its <end_of_utterance> included)."""
    return 1 / (tokens ** 0.5 if answer_weight == "sqrt" else tokens)


# The words an HTML page reads from its sketch (generate.ui_html): its header's, its buttons' and
# its inputs'.
PAGE_WORDS = re.compile(r'<h1>([^<]+)</h1>|<button>([^<]+)</button>|placeholder="([^"]+)"')


def page_word_weights(text, offsets, weights, answer_weight):
    """Raises, in place, the `weights` of the tokens of `text` (an HTML answer, tokenized with
    `offsets`) that spell a word the page reads from its sketch to the weight of an answer made of
    those tokens and <end_of_utterance>. Why: a page is one answer of about sixty tokens (24-124 at
    level 2), so each of its tokens weighs about a sixth of a one-word answer's, and nearly all of
    them are markup the model no longer gets wrong; v16 read a button's word 83 % of the time when
    asked for it alone and 40 % inside the page."""
    for match in PAGE_WORDS.finditer(text):
        start, end = next(match.span(g) for g in (1, 2, 3) if match.group(g) is not None)
        tokens = [k for k, (a, b) in enumerate(offsets) if a < end and b > start]
        own = answer_share(len(tokens) + 1, answer_weight)
        for k in tokens:
            weights[k] = max(weights[k], own)


def question_suffix(processor, question):
    """The tokens of a one-question prompt after its image: the question, <end_of_utterance> and
    "\nAssistant:". The image's tokens are special, so the text after them is tokenized alone."""
    prompt = prompt_text(processor, question)
    return processor.tokenizer(prompt[prompt.rindex("<image>") + len("<image>"):], add_special_tokens=False)["input_ids"]


def turn_attention_mask(segments, dtype=torch.float32):
    """The additive [B, 1, W, W] attention mask of encode_examples(..., separate_turns=True): a
    token sees the earlier tokens of the shared image prompt and of its own turn."""
    query, key = segments[:, :, None], segments[:, None, :]
    causal = torch.ones(segments.shape[1], segments.shape[1], dtype=torch.bool).tril()
    allowed = causal & (key >= 0) & ((key == 0) | (key == query))
    return torch.zeros(allowed.shape, dtype=dtype).masked_fill(~allowed, torch.finfo(dtype).min)[:, None]


def normalise_answer(text):
    text = text.strip()
    if "\n" in text or text.startswith("<"):
        return text
    return text.rstrip(".").strip().lower()


def set_threads(n=1):
    torch.set_num_threads(n)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass


def seeded(seed):
    random.seed(seed)
    torch.manual_seed(seed)


HERE = Path(__file__).resolve().parent
