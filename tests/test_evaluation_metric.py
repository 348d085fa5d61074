"""The ``mds`` metric plugin: values, tables and figure from hand-made evaluations."""
import numpy as np
import pytest

from sgfkit.components import EditEvaluation
from sgfkit.mdc import mds
from sgfkit_metrics.mds import MDSMetric


def evaluation(method, attribute, index, shifts):
    """N = 4 samples, K = 3 attributes; ``shifts[s]`` = (target move, other move) per strength."""
    before = np.full((4, 3), 0.2)
    direction = np.ones(4)
    after = []
    for target_move, other_move in shifts:
        a = before.copy()
        a[:, index] += target_move
        a[:, [j for j in range(3) if j != index]] += other_move
        after.append(a)
    return EditEvaluation(method, attribute, index, ["x", "y", "z"], [float(s) for s in range(1, len(shifts) + 1)],
                          before, np.stack(after), direction)


def test_values_tables_and_figure():
    evs = [
        evaluation("good", "x", 0, [(0.1, 0.0), (0.5, 0.0)]),       # (0,1) -> (1,1): area 1
        evaluation("good", "y", 1, [(0.5, 0.3)]),                   # (1, 0): area 0.5
        evaluation("bad", "x", 0, [(0.5, 0.3), (0.6, 0.3)]),
    ]
    result = MDSMetric(delta=0.2).compute(evs, [])
    v = result.values
    assert v["good"]["x"]["mds"] == pytest.approx(1.0)
    assert v["good"]["x"]["points"] == [[0.0, 1.0], [1.0, 1.0]]
    assert v["good"]["y"]["mds"] == pytest.approx(0.5)
    assert v["good"]["overall"] == pytest.approx(0.75)
    assert v["bad"]["x"]["mds"] == pytest.approx(mds([(1.0, 0.0), (1.0, 0.0)]))
    assert v["good"]["x"]["best"]["strength"] == 2.0
    assert v["settings"]["delta"] == 0.2 and v["settings"]["samples"] == 4
    assert v["settings"]["strengths"]["good"]["x"] == [1.0, 2.0]
    table = result.tables["mds"]
    assert "| good | **1.000** | 0.500 | **0.750** |" in table and "| bad | 0.500 | – | 0.500 |" in table
    assert "delta = 0.2" in table
    assert "@ 2" in result.tables["best"]
    assert set(result.legends) == set(result.tables) and "overall" in result.legends["mds"]
    fig = result.figures["mdc"]
    assert len(fig.axes) == 2
    import matplotlib.pyplot as plt
    plt.close(fig)


def test_empty_evaluations_give_empty_result():
    assert MDSMetric().compute([], []).values == {}


def test_keypoint_columns_are_left_out_of_disentanglement():
    ev = evaluation("m", "x", 0, [(0.5, 0.0)])
    ev.names = ["x", "eye_x", "eye_y"]
    ev.keypoints = [(1, 2)]                        # what the evaluator declares (keypoint_indices())
    ev.after[0, :, 1:] += 3.0                      # keypoints move by pixels: not an attribute change
    assert MDSMetric().compute([ev], []).values["m"]["x"]["points"] == [[1.0, 1.0]]
    # names alone decide nothing: undeclared "_x" / "_y" columns are scores like any other
    undeclared = evaluation("m", "x", 0, [(0.5, 0.0)])
    undeclared.names = ["x", "eye_x", "eye_y"]
    undeclared.after[0, :, 1:] += 3.0
    assert MDSMetric().compute([undeclared], []).values["m"]["x"]["points"] == [[1.0, 0.0]]
    counted = MDSMetric(exclude_keypoints=False).compute([ev], []).values["m"]["x"]["points"]
    assert counted == [[1.0, 0.0]]
    with pytest.raises(Exception, match="not evaluator columns"):
        MDSMetric(scored=["nope"]).compute([ev], [])
