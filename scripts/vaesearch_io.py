"""vaesearch_io: read vaesearch's files from Python with numpy alone.

Two readers, each an independent implementation of a published format, so that a
Python user (or a test) needs none of vaesearch's C code:

* ``load_dataset(path)`` reads a prepared dataset (``.vsds``, the binary format that
  docs/dataset-format.md specifies), verifies its CRC-32 checksums with ``zlib`` and
  its structure, and returns the five CSR matrices, the id tables and the metadata.
* ``load_model(path)`` reads a model that ``vaecf-train`` saved (``best.safetensors``):
  the encoder and decoder layers as ``(W, b)`` pairs, ``W`` stored ``[in, out]`` so a
  layer computes ``y = x @ W + b``, and the training config.

Safetensors files are read with the ``safetensors`` package when it is installed and
otherwise with ``read_safetensors`` below (the format is simple: an 8-byte
little-endian header length, a JSON header, then raw little-endian tensor data).

Example::

    import vaesearch_io as vio
    d = vio.load_dataset("ml20m.vsds")
    indptr, indices = d["train"]                      # row r: indices[indptr[r]:indptr[r+1]]
    X = vio.csr_to_dense(d["train"], d["n_items"])    # 0/1 float32 users x items
    m = vio.load_model("runs/x/best.safetensors")
    m["encoder"][0]                                   # (W [n_items, h], b [h])
"""

import json
import struct
import zlib

import numpy as np

__all__ = ["load_dataset", "csr_to_dense", "load_model", "read_safetensors", "MATRICES",
           "ID_TABLES"]

# ---------------------------------------------------------------------------------
# Datasets (.vsds, version 1)
# ---------------------------------------------------------------------------------

MAGIC = b"VSDSET\0\0"
HEADER_BYTES = 64
ENTRY_BYTES = 40

# Section id i+1 is SECTIONS[i]; the dtype each one must have (see the format doc).
SECTIONS = ["train.indptr", "train.indices", "val_in.indptr", "val_in.indices",
            "val_out.indptr", "val_out.indices", "test_in.indptr", "test_in.indices",
            "test_out.indptr", "test_out.indices", "item_ids.offsets", "item_ids.bytes",
            "train_user_ids.offsets", "train_user_ids.bytes", "val_user_ids.offsets",
            "val_user_ids.bytes", "test_user_ids.offsets", "test_user_ids.bytes",
            "meta.json"]
DTYPES = {1: np.dtype("<i4"), 2: np.dtype("<i8"), 3: np.dtype("<u8"), 4: np.dtype("u1")}
_SUFFIX_DTYPE = {"indptr": 2, "indices": 1, "offsets": 3, "bytes": 4, "json": 4}

MATRICES = ["train", "val_in", "val_out", "test_in", "test_out"]
ID_TABLES = ["item_ids", "train_user_ids", "val_user_ids", "test_user_ids"]

_HEADER = np.dtype([("version", "<u4"), ("header_size", "<u4"), ("n_items", "<i8"),
                    ("n_sections", "<u4"), ("header_crc", "<u4"), ("file_size", "<u8")])
_ENTRY = np.dtype([("id", "<u4"), ("dtype", "<u4"), ("count", "<u8"), ("offset", "<u8"),
                   ("length", "<u8"), ("crc", "<u4"), ("reserved", "<u4")])


def _fail(path, what):
    raise ValueError(f"{path}: {what}")


def _read_header(path, raw):
    if len(raw) < HEADER_BYTES or bytes(raw[:8]) != MAGIC:
        _fail(path, "not a vaesearch dataset (no VSDSET magic)")
    h = np.frombuffer(raw, dtype=_HEADER, count=1, offset=8)[0]
    version, header_size, n_items, n_sections, header_crc, file_size = (int(v) for v in h)
    if version != 1:
        _fail(path, f"version {version}, this reader knows version 1")
    if n_sections > 1024 or header_size != HEADER_BYTES + ENTRY_BYTES * n_sections:
        _fail(path, f"header_size {header_size} does not match {n_sections} sections")
    if header_size > len(raw):
        _fail(path, f"header_size {header_size} exceeds the file's {len(raw)} bytes")
    if file_size != len(raw):
        _fail(path, f"file_size says {file_size} bytes but the file has {len(raw)}")
    if not 0 <= n_items <= 2**31 - 1:
        _fail(path, f"n_items {n_items} out of range")
    return header_size, n_items, n_sections, header_crc


def _read_sections(path, raw, buf, header_size, n_sections, verify):
    table = np.frombuffer(raw, dtype=_ENTRY, count=n_sections, offset=HEADER_BYTES)
    sec = {}
    for s, e in enumerate(table):
        sid, dtype_code = int(e["id"]), int(e["dtype"])
        start, length, count = int(e["offset"]), int(e["length"]), int(e["count"])
        name = SECTIONS[sid - 1] if 1 <= sid <= len(SECTIONS) else f"section id {sid}"
        where = f"section {name} (table entry {s})"
        if dtype_code not in DTYPES:
            _fail(path, f"{where}: unknown dtype {dtype_code}")
        if 1 <= sid <= len(SECTIONS) and dtype_code != _SUFFIX_DTYPE[name.rsplit(".", 1)[1]]:
            _fail(path, f"{where}: dtype {dtype_code} is not the one the format fixes")
        if length != count * DTYPES[dtype_code].itemsize:
            _fail(path, f"{where}: length {length} is not count {count} x element size")
        if start % 64 or start < header_size or start + length > len(raw):
            _fail(path, f"{where}: offset {start} + length {length} misaligned or outside the file")
        if verify and zlib.crc32(raw[start:start + length]) != int(e["crc"]):
            _fail(path, f"{where}: checksum mismatch")
        if 1 <= sid <= len(SECTIONS):   # later ids are compatible additions: checked, ignored
            if name in sec:
                _fail(path, f"{where}: repeated")
            sec[name] = buf[start:start + length].view(DTYPES[dtype_code])
    missing = [n for n in SECTIONS if n not in sec]
    if missing:
        _fail(path, f"missing sections {', '.join(missing)}")
    return sec


def _check_csr(path, name, indptr, indices, n_items):
    if len(indptr) < 1 or indptr[0] != 0 or np.any(np.diff(indptr) < 0) \
            or indptr[-1] != len(indices):
        _fail(path, f"section {name}.indptr is not a valid row-pointer array")
    if len(indices) == 0:
        return
    if indices.min() < 0 or indices.max() >= n_items:
        _fail(path, f"section {name}.indices holds an item outside [0, {n_items})")
    # Strictly increasing within rows: every step is positive except at row starts.
    step_ok = np.diff(indices) > 0
    row_start = np.zeros(len(indices), dtype=bool)
    row_start[indptr[1:-1][indptr[1:-1] < len(indices)]] = True
    if not np.all(step_ok | row_start[1:]):
        _fail(path, f"section {name}.indices not strictly increasing within a row")


def _strings(path, sec, name):
    off = sec[name + ".offsets"]
    b = sec[name + ".bytes"].tobytes()
    if len(off) < 1 or off[0] != 0 or np.any(np.diff(off.astype(np.int64)) < 0) \
            or int(off[-1]) != len(b):
        _fail(path, f"section {name}.offsets is not a valid offset table")
    try:
        return [b[int(off[i]):int(off[i + 1])].decode("utf-8") for i in range(len(off) - 1)]
    except UnicodeDecodeError as e:
        _fail(path, f"section {name}.bytes: an id is not UTF-8 ({e.reason} at byte {e.start})")


def load_dataset(path, verify=True):
    """Reads a .vsds dataset file; raises ValueError naming the file and section at fault.

    Returns a dict:
      "n_items":   number of items (columns of every matrix)
      "train", "val_in", "val_out", "test_in", "test_out":
                   (indptr int64[rows+1], indices int32[nnz]) CSR pairs; row r's items
                   are indices[indptr[r]:indptr[r+1]], strictly increasing
      "item_ids", "train_user_ids", "val_user_ids", "test_user_ids":
                   lists of the original id strings (one per column / row)
      "meta":      the metadata JSON object, as a dict
    The arrays are read-only views of the file's bytes (read into memory once).
    verify=False skips the CRC-32 checks (the structure is still checked).
    """
    buf = np.fromfile(path, dtype=np.uint8)
    buf.flags.writeable = False
    raw = memoryview(buf)       # zlib and np.frombuffer read it without a copy
    header_size, n_items, n_sections, header_crc = _read_header(path, raw)
    if verify:
        hdr = bytearray(raw[:header_size])
        hdr[28:32] = b"\0\0\0\0"    # the checksum covers itself as zero
        if zlib.crc32(hdr) != header_crc:
            _fail(path, "header checksum mismatch")
    sec = _read_sections(path, raw, buf, header_size, n_sections, verify)

    out = {"n_items": n_items}
    for m in MATRICES:
        indptr, indices = sec[m + ".indptr"], sec[m + ".indices"]
        _check_csr(path, m, indptr, indices, n_items)
        out[m] = (indptr, indices)
    for t in ID_TABLES:
        out[t] = _strings(path, sec, t)

    rows = {m: len(out[m][0]) - 1 for m in MATRICES}
    if len(out["item_ids"]) != n_items:
        _fail(path, f"item_ids has {len(out['item_ids'])} strings for {n_items} items")
    if len(out["train_user_ids"]) != rows["train"]:
        _fail(path, "train_user_ids and train have different row counts")
    for split, a, b in [("val", "val_in", "val_out"), ("test", "test_in", "test_out")]:
        if not rows[a] == rows[b] == len(out[split + "_user_ids"]):
            _fail(path, f"{a}, {b} and {split}_user_ids have different row counts")

    meta_bytes = sec["meta.json"].tobytes()
    if b"\0" in meta_bytes:
        _fail(path, "section meta.json contains a NUL byte")
    try:
        meta = json.loads(meta_bytes.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        _fail(path, f"section meta.json: {e}")
    if not isinstance(meta, dict):
        _fail(path, "section meta.json is not a JSON object")
    out["meta"] = meta
    return out


def csr_to_dense(csr, n_items, rows=None, dtype=np.float32):
    """A dense 0/1 matrix of the CSR's rows (all, or the row indices in `rows`)."""
    indptr, indices = csr
    if rows is None:
        rows = np.arange(len(indptr) - 1)
    rows = np.asarray(rows, dtype=np.int64)
    lengths = indptr[rows + 1] - indptr[rows]
    X = np.zeros((len(rows), n_items), dtype=dtype)
    # Each chosen row's positions in `indices`: its start repeated, plus 0, 1, 2, ...
    starts = np.repeat(indptr[rows], lengths)
    within = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    X[np.repeat(np.arange(len(rows)), lengths), indices[starts + within]] = 1
    return X


# ---------------------------------------------------------------------------------
# Safetensors and models
# ---------------------------------------------------------------------------------

# The safetensors dtypes numpy can hold (BF16 and the FP8 types it cannot).
ST_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4",
             "I16": "<i2", "I8": "i1", "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1",
             "BOOL": "?"}


def read_safetensors(path):
    """Reads a safetensors file without the safetensors package.

    Returns (tensors, metadata): a dict name -> numpy array (a copy, native layout)
    and the "__metadata__" dict of strings ({} if absent). Raises ValueError naming
    the file and tensor when the header or a byte range is wrong.
    """
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        _fail(path, "too short for a safetensors file")
    (n,) = struct.unpack("<Q", raw[:8])
    if n > len(raw) - 8:
        _fail(path, f"header length {n} exceeds the file")
    try:
        header = json.loads(raw[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        _fail(path, f"header is not JSON: {e}")
    if not isinstance(header, dict):
        _fail(path, "header is not a JSON object")
    data = memoryview(raw)[8 + n:]
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict):
        _fail(path, "__metadata__ is not a JSON object")
    tensors = {}
    for name, info in header.items():
        try:
            dtype = np.dtype(ST_DTYPES[info["dtype"]])
            shape = [int(d) for d in info["shape"]]
            begin, end = (int(o) for o in info["data_offsets"])
        except (KeyError, TypeError, ValueError):
            _fail(path, f"tensor {name}: bad or unsupported dtype, shape or data_offsets")
        if not 0 <= begin <= end <= len(data) or end - begin != int(np.prod(shape)) * dtype.itemsize:
            _fail(path, f"tensor {name}: data_offsets [{begin}, {end}) wrong for its shape or the file")
        tensors[name] = np.frombuffer(data[begin:end], dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))
    return tensors, metadata


def _read_with_package(path):
    from safetensors import safe_open
    with safe_open(path, framework="np") as f:
        return {k: f.get_tensor(k) for k in f.keys()}, (f.metadata() or {})


def _read_any_safetensors(path, use_package):
    if use_package is not False:
        try:
            return _read_with_package(path)
        except ImportError:
            if use_package:
                raise
    return read_safetensors(path)


def _layers(path, tensors, part):
    layers = []
    while f"{part}.{len(layers)}.weight" in tensors:
        i = len(layers)
        W, b = tensors[f"{part}.{i}.weight"], tensors.get(f"{part}.{i}.bias")
        if W.ndim != 2 or b is None or b.shape != (W.shape[1],):
            _fail(path, f"{part}.{i}: weight must be [in, out] and bias [out]")
        if layers and layers[-1][0].shape[1] != W.shape[0]:
            _fail(path, f"{part}.{i}.weight: input {W.shape[0]} does not match the "
                        f"previous layer's output {layers[-1][0].shape[1]}")
        layers.append((W, b))
    if not layers:
        _fail(path, f"no {part}.0.weight tensor")
    return layers


def load_model(path, use_package=None):
    """Reads a Mult-VAE model that vaecf-train saved (best.safetensors).

    Returns a dict:
      "encoder", "decoder": lists of (W [in, out], b [out]) float32 arrays, in order;
                 the encoder maps n_items -> hidden dims -> 2 x latent_dim (the mean,
                 then the log-variance); the decoder latent_dim -> hidden reversed ->
                 n_items; tanh follows every layer but the last of each
      "n_items", "latent_dim": ints
      "config":  the training config (dict, from the "config" metadata JSON)
      "meta":    all metadata strings (format, version, epoch, val_ndcg@100, ...)
      "item_ids": the original id of each item (the model's output columns)
    use_package: True = require the safetensors package, False = use the reader
    here, None = the package when importable.
    """
    tensors, meta = _read_any_safetensors(path, use_package)
    if meta.get("format") != "vaesearch-multvae":
        _fail(path, f"metadata format is {meta.get('format')!r}, not 'vaesearch-multvae'")
    enc, dec = _layers(path, tensors, "encoder"), _layers(path, tensors, "decoder")
    n_items = enc[0][0].shape[0]
    latent = dec[0][0].shape[0]
    if enc[-1][0].shape[1] != 2 * latent:
        _fail(path, f"encoder output {enc[-1][0].shape[1]} is not 2 x latent {latent}")
    if dec[-1][0].shape[1] != n_items:
        _fail(path, f"decoder output {dec[-1][0].shape[1]} is not n_items {n_items}")
    if "n_items" in meta and int(meta["n_items"]) != n_items:
        _fail(path, f"metadata n_items {meta['n_items']} but the encoder takes {n_items}")
    try:
        config = json.loads(meta["config"]) if "config" in meta else {}
    except json.JSONDecodeError as e:
        _fail(path, f"metadata config is not JSON: {e}")
    if "item_ids.offsets" not in tensors or "item_ids.bytes" not in tensors:
        _fail(path, "no item_ids.offsets / item_ids.bytes tensors")
    offsets, blob = tensors["item_ids.offsets"], tensors["item_ids.bytes"].tobytes()
    if len(offsets) != n_items + 1 or offsets[0] != 0 or np.any(np.diff(offsets) < 0) or offsets[-1] != len(blob):
        _fail(path, "item_ids.offsets do not describe item_ids.bytes")
    try:
        item_ids = [blob[offsets[i]:offsets[i + 1]].decode("utf-8") for i in range(n_items)]
    except UnicodeDecodeError as e:
        _fail(path, f"an item id is not UTF-8: {e}")
    return {"encoder": enc, "decoder": dec, "n_items": n_items, "latent_dim": latent,
            "config": config, "meta": dict(meta), "item_ids": item_ids}
