"""One-Euro filter: removes jitter from a still signal and follows a moving one with little lag."""

import numpy as np

from app.people.smoothing import OneEuroConfig, OneEuroFilter, PoseSmoother


def test_jitter_on_a_still_signal_is_reduced_more_than_threefold():
    rng = np.random.default_rng(0)
    f = OneEuroFilter(min_cutoff=1.0, beta=0.0, d_cutoff=1.0)
    noisy = 100.0 + rng.normal(scale=3.0, size=(300, 17, 2))
    out = np.array([f(x, i / 30.0) for i, x in enumerate(noisy)])
    assert out[30:].std() < noisy[30:].std() / 3


def test_fast_motion_lags_less_with_beta():
    t = np.arange(60) / 30.0
    ramp = 1000.0 * t  # 1000 units per second
    lag = {}
    for beta in (0.0, 0.01):
        f = OneEuroFilter(min_cutoff=1.0, beta=beta, d_cutoff=1.0)
        out = np.array([f(np.array([x]), ti)[0] for x, ti in zip(ramp, t)])
        lag[beta] = ramp[-1] - out[-1]
    assert lag[0.01] < lag[0.0] / 3


def test_first_sample_and_repeated_time_pass_through():
    f = OneEuroFilter(1.0, 0.0, 1.0)
    np.testing.assert_array_equal(f(np.array([5.0]), 0.0), [5.0])
    np.testing.assert_array_equal(f(np.array([7.0]), 0.0), [7.0])


def test_pose_smoother_keeps_confidences():
    s = PoseSmoother(OneEuroConfig())
    kp = np.ones((17, 3)) * 0.7
    out_kp, joints, root = s(kp, np.zeros((17, 3)), np.zeros(3), 0.0)
    np.testing.assert_array_equal(out_kp[:, 2], kp[:, 2])
    assert joints.shape == (17, 3) and root.shape == (3,)
