"""lamina.io reads what h5py writes: every supported element type, byte order and rank, bit-exact."""
import numpy as np
import pytest

h5py = pytest.importorskip("h5py")

import lamina
from lamina import io


def bfloat16_type():
    """HDF5 has no predefined bfloat16: 1 sign, 8 exponent (bias 127), 7 mantissa bits in 2 bytes."""
    tid = h5py.h5t.IEEE_F32LE.copy()
    tid.set_fields(15, 7, 8, 0, 7)
    tid.set_offset(0)
    tid.set_precision(16)
    tid.set_size(2)
    tid.set_ebias(127)
    return tid


@pytest.fixture()
def sample_file(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(scale=3, size=(37, 5)).astype(np.float32)
    path = tmp_path / "act.h5"
    with h5py.File(path, "w") as f:
        f["f16"] = x.astype(np.float16)
        f["f16be"] = x.astype(">f2")
        f["f32"] = x
        f["f64"] = x.astype(np.float64)
        f["i16"] = (x * 10).astype(np.int16)
        f["vec"] = x[:, 0].astype(np.float16)
        f["labels"] = np.arange(37, dtype=np.int64) % 4
        bits = (x.view(np.uint32) >> 16).astype(np.uint16)   # truncated to bfloat16
        space = h5py.h5s.create_simple(x.shape)
        dset = h5py.h5d.create(f.id, b"bf16", bfloat16_type(), space)
        dset.write(h5py.h5s.ALL, h5py.h5s.ALL, bits, mtype=bfloat16_type())
    return path, x, bits


def test_every_float_type_matches_h5py(sample_file):
    path, x, bits = sample_file
    with h5py.File(path) as f:
        for name in ("f16", "f16be", "f32", "f64", "i16"):
            got = io.read_activations(path, name)
            np.testing.assert_array_equal(got, f[name][:].astype(np.float32), err_msg=name)
    bf16 = (bits.astype(np.uint32) << 16).view(np.float32)
    np.testing.assert_array_equal(io.read_activations(path, "bf16"), bf16)
    assert io.dataset_info(path, "bf16") == ((37, 5), "bfloat16")
    assert io.dataset_info(path, "f16") == ((37, 5), "float16")


def test_row_ranges_rank1_and_labels(sample_file):
    path, x, _ = sample_file
    np.testing.assert_array_equal(io.read_activations(path, "f32", start=5, stop=9), x[5:9])
    assert io.read_activations(path, "f32", start=37).shape == (0, 5)
    np.testing.assert_array_equal(io.read_activations(path, "vec"), x[:, 0].astype(np.float16).astype(np.float32))
    np.testing.assert_array_equal(io.read_labels(path, "labels"), np.arange(37) % 4)
    with pytest.raises(lamina.InvalidArgumentError, match="out of range"):
        io.read_activations(path, "f32", start=30, stop=40)


def test_bundled_demo_data_reads_like_h5py(real_data_path):
    demo_data_path = str(real_data_path)
    with h5py.File(demo_data_path) as f:
        for layer in (0, 6):
            ref = f[f"target/layer_{layer}"][:].astype(np.float32)
            np.testing.assert_array_equal(io.read_activations(demo_data_path, f"/target/layer_{layer}"), ref)
        np.testing.assert_array_equal(io.read_labels(demo_data_path, "/labels/pos"), f["labels/pos"][:])
