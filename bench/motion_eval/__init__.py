"""Accuracy of the motion classifier on real labelled recordings (stm32-har, UCI HAPT).

``python -m bench.motion_eval`` (``make eval-motion``) loads both data sets, splits them by
recording or person, tunes the thresholds on one part, measures on the other and prints
markdown tables. ``recordings.Recording`` is what a replay iterates: (label, timestamps in
ms, xyz in m/s²).
"""
