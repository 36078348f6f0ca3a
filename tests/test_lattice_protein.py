"""HP lattice protein: exact enumeration against the self-avoiding-walk series, energies and design."""

import jax
import numpy as np
import pytest

from physml_helpers import lattice_protein as lp

SAW = [4, 12, 36, 100, 284, 780, 2172, 5916, 16268, 44100]   # OEIS A001411


def test_self_avoiding_walk_counts():
    assert [lp.count_self_avoiding_walks(n) for n in range(1, 11)] == SAW


@pytest.mark.parametrize("n_monomers", [5, 8, 11])
def test_folds_up_to_symmetry(n_monomers):
    contacts, pairs, coords = lp.enumerate_folds(n_monomers)
    # each fold stands for 8 walks, the straight one for 4
    assert 8 * len(contacts) - 4 == SAW[n_monomers - 2]
    assert coords.shape == (len(contacts), n_monomers, 2)
    assert np.all(np.abs(np.diff(coords, axis=1)).sum(axis=-1) == 1)
    assert len({tuple(c.ravel()) for c in coords}) == len(coords)


def test_energies_of_the_square():
    contacts, pairs, coords = lp.enumerate_folds(4)   # folds: straight, L, U (one contact 0-3), ...
    e = np.asarray(lp.fold_energies(np.ones(4), contacts, pairs))
    assert sorted(e.tolist()) == sorted((-contacts.sum(axis=1)).tolist()) and e.min() == -1
    e_ph = np.asarray(lp.fold_energies(np.array([0.0, 1, 1, 1]), contacts, pairs))
    assert np.all(e_ph == 0)   # residue 0 is P: the only contact, 0-3, does not count
    assert lp.energy_gap(e) == (-1.0, 1, 1.0)


def test_design_reaches_a_designable_target():
    n = 10
    contacts, pairs, _ = lp.enumerate_folds(n)
    seqs = ((np.arange(2**n)[:, None] >> np.arange(n)) & 1).astype(float)
    energies = np.asarray(jax.vmap(lambda s: lp.fold_energies(s, contacts, pairs))(seqs))
    unique = (energies == energies.min(axis=1, keepdims=True)).sum(axis=1) == 1
    designable = np.unique(np.argmin(energies[unique], axis=1))
    target = int(designable[np.argmax(contacts[designable].sum(axis=1))])
    probs, history = lp.design_sequence(jax.random.key(0), contacts, pairs, target, n_hydrophobic=5, beta=3.0,
                                        n_steps=400, penalty=0.0)
    seq = (np.asarray(probs) > 0.5).astype(float)
    e0, deg, gap = lp.energy_gap(np.asarray(lp.fold_energies(seq, contacts, pairs)))
    assert deg == 1 and gap >= 1 and int(np.argmin(lp.fold_energies(seq, contacts, pairs))) == target
    assert float(history[-1]) > float(history[0])


def test_bad_inputs():
    with pytest.raises(ValueError, match="n_steps"):
        lp.count_self_avoiding_walks(0)
    with pytest.raises(ValueError, match="14"):
        lp.count_self_avoiding_walks(20)
    with pytest.raises(TypeError):
        lp.count_self_avoiding_walks(2.5)
    contacts, pairs, _ = lp.enumerate_folds(6)
    with pytest.raises(ValueError, match="monomers"):
        lp.fold_energies(np.ones(4), contacts, pairs)
    with pytest.raises(ValueError, match="target"):
        lp.design_sequence(jax.random.key(0), contacts, pairs, 10**6, n_hydrophobic=3)
    with pytest.raises(ValueError, match="n_hydrophobic"):
        lp.design_sequence(jax.random.key(0), contacts, pairs, 0, n_hydrophobic=6)
