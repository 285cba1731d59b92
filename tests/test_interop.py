"""Use from other libraries: zero-copy outputs, DataLoader workers,
compact pickles."""
import pickle

import numpy as np
import pytest

import negsamp


def test_outputs_are_c_contiguous_numpy_arrays():
    table = negsamp.AliasTable(np.arange(1, 11))
    out = table.sample((7, 3), rng=0)
    assert type(out) is np.ndarray and out.flags.c_contiguous and out.flags.writeable


def test_alias_table_of_a_million_items_pickles_in_16_mb():
    table = negsamp.AliasTable.from_counts(np.arange(1, 1_000_001))
    data = pickle.dumps(table, protocol=pickle.HIGHEST_PROTOCOL)
    assert len(data) <= 16 * 10**6 + 4096


def test_worker_rng_outside_a_worker_is_as_generator():
    a = negsamp.worker_rng(3).integers(0, 2**62, 5)
    b = np.random.default_rng(3).integers(0, 2**62, 5)
    assert np.array_equal(a, b)


try:  # the tests above need no torch; the ones below do
    import torch
    from torch.utils.data import DataLoader, Dataset
except ImportError:
    torch = None
    Dataset = object
needs_torch = pytest.mark.skipif(torch is None, reason="needs torch")


class _NoiseDataset(Dataset):
    """Each item: 4 negatives drawn with the dataset's rng."""

    def __init__(self, table, seed, per_worker):
        self.table = table
        self.seed = seed
        self.per_worker = per_worker
        self._rng = None if per_worker else np.random.default_rng(seed)

    def __len__(self):
        return 16

    def __getitem__(self, i):
        if self._rng is None:  # first call in this worker process
            self._rng = negsamp.worker_rng(self.seed)
        return torch.from_numpy(self.table.sample(4, rng=self._rng, n_threads=2))


def _run(per_worker, seed=123):
    table = negsamp.AliasTable(np.ones(10**9 // 10**3))  # 1e6 items
    table.sample(10**6, rng=0, n_threads=2)  # the parent used its threads before forking
    loader = DataLoader(_NoiseDataset(table, seed, per_worker), batch_size=4,
                        num_workers=2, shuffle=False)
    return torch.cat(list(loader)).numpy()


@needs_torch
def test_torch_from_numpy_is_zero_copy():
    out = negsamp.AliasTable([1.0, 2.0]).sample(8, rng=0)
    tensor = torch.from_numpy(out)
    assert tensor.data_ptr() == out.ctypes.data


@needs_torch
def test_naive_generator_repeats_the_stream_in_every_worker():
    # Why worker_rng exists: with a Generator stored on the dataset, both
    # workers start from the same state and draw the same negatives.
    rows = _run(per_worker=False)
    worker0, worker1 = rows[0:4], rows[4:8]  # batches alternate between workers
    assert np.array_equal(worker0, worker1)


@needs_torch
def test_worker_rng_gives_each_worker_its_own_reproducible_stream():
    rows = _run(per_worker=True)
    assert rows.shape == (16, 4)
    assert not np.array_equal(rows[0:4], rows[4:8])
    # 1e6 items: 64 draws from independent streams essentially never repeat.
    assert len({tuple(r) for r in rows}) == 16
    assert np.array_equal(rows, _run(per_worker=True))
    assert not np.array_equal(rows, _run(per_worker=True, seed=124))
