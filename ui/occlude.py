""""Cover it up" (Draw and Feature maps): an occlusion map next to Grad-CAM and the saliency
map, one sentence on where they agree, and the sanity check that recomputes all three on a
network whose weights are random from a chosen layer up (the logic is
:mod:`cnnlab.inspect.occlusion`, :mod:`~cnnlab.inspect.agreement` and
:mod:`~cnnlab.inspect.sanity`).

An expander computed only while it is open. The saliency map is the signed gradient, as in
the "Why this answer?" tab: its size alone (the classic saliency map) fails the sanity check on
digits, which the check shows next to it (README, "Inside the decision").
"""

from __future__ import annotations

from typing import Any

import numpy as np
import streamlit as st

from cnnlab.architecture import shapes
from cnnlab.inspect import agreement, attribution, occlusion, sanity
from cnnlab.views import overlay
from ui import explain, images, state, text

TITLE = "Cover it up: which parts does the answer need? Three maps, and a sanity check"
PICTURE_PX = 200  # each map's width on the page (sent at the input's size): three in a row
SEED = 0  # the randomised weights' seed: the same network at every rerun
DIFFERENT = 0.5  # a rank correlation below this: the map changed with the weights


class Tools:
    """What one network needs for the three maps: its explainer (or why it has none: no input
    gradient for this network, occlusion only) and its occluder."""

    def __init__(self, model: Any, summary: shapes.Summary,
                 explainer: attribution.Explainer | str | None = None) -> None:
        if explainer is None:
            try:
                explainer = attribution.Explainer(model, summary)
            except ValueError as exc:
                explainer = str(exc)
        self.explainer = explainer
        self.occluder = occlusion.Occluder(model, summary)

    def maps(self, image: np.ndarray, k: int, layer: str | None,
             size: int) -> tuple[attribution.Explanation | None, occlusion.Occlusion]:
        """Grad-CAM and saliency (None without an explainer), and the occlusion map."""
        explained = (None if isinstance(self.explainer, str)
                     else self.explainer.explain(image, k, layer))
        return explained, self.occluder.map(image, k, size)


def _tools(run: Any, summary: shapes.Summary, randomised_from: str | None = None) -> Tools:
    """This session's tools for ``run`` (trained: its explainer is the tabs' one), and for one
    randomised copy of it."""
    cache: dict = st.session_state.setdefault("cover_tools", {})
    key = (id(run), run.name, randomised_from)
    if key not in cache:
        for old in [k for k in cache if k[:2] != key[:2]
                    or (randomised_from is not None and k[2] is not None)]:
            del cache[old]  # one trained and one randomised network per session
        if randomised_from is None:
            tools = Tools(run.model, summary, explain.explainer_of(run, summary))
        else:
            tools = Tools(sanity.randomised(run.model, summary, randomised_from, seed=SEED),
                          summary)
        cache[key] = (run, tools)
    return cache[key][1]


def pictures(image: np.ndarray, explained: attribution.Explanation | None,
             occluded: occlusion.Occlusion, name: str,
             random: dict[str, float] | None = None) -> None:
    """The three maps in a row, their captions short enough to keep the row on one line (the
    details in a caption below); ``random``: the randomised network's maps, each map's name ->
    its rank correlation with the trained map's."""
    where = "" if random is None else " of the randomised network"
    shown, alts, captions = [], [], []

    def said(kind: str, full: str, short: str) -> None:
        if random is None:
            alts.append(full)
            captions.append(short)
        else:
            alts.append(f"{full}; {_verdict(random[kind])}")
            captions.append(f"{kind}, random · ρ {rho_text(random[kind])}")

    if explained is not None and explained.gradcam is not None:
        shown.append(overlay.heat_overlay(image, explained.gradcam, 1))
        rows, cols = explained.gradcam_resolution
        said("Grad-CAM", f"Grad-CAM{where} at {explained.gradcam_layer} "
                         f"({explain.resolution(explained, image)}): bright where the evidence "
                         f"for {name} came from",
             f"Grad-CAM · {rows}×{cols} on {image.shape[0]}×{image.shape[1]}")
    if explained is not None:
        shown.append(overlay.signed_overlay(image, explained.gradient, 1))
        said("saliency", f"saliency map{where}: red where more brightness would raise "
                         f"{name}'s score, blue where less would",
             "saliency: red raises, blue lowers")
    shown.append(overlay.heat_overlay(image, occluded.heat, 1))
    said("occlusion", f"occlusion map{where}: bright where covering the picture with a grey "
                      f"square lowers {name}'s score most",
         f"occlusion · {occluded.size}×{occluded.size} square")
    images.grid(shown, alts, captions, width=PICTURE_PX)
    if random is None:
        st.caption(text.md(details(image, explained, occluded, name)))


def details(image: np.ndarray, explained: attribution.Explanation | None,
            occluded: occlusion.Occlusion, name: str) -> str:
    """What each of the three pictures shows, in full."""
    parts = []
    if explained is not None and explained.gradcam is not None:
        parts.append(f"Grad-CAM: where the evidence for {name} came from, "
                     f"{explained.gradcam_layer}'s {explain.resolution(explained, image)}.")
    if explained is not None:
        parts.append(f"Saliency: red where more brightness would raise {name}'s score, blue "
                     "where less would.")
    rows, cols = occluded.resolution
    parts.append(f"Occlusion: a {occluded.size}×{occluded.size} grey square at {rows}×{cols} "
                 f"places, bright where covering lowers {name}'s score (the worst place leaves "
                 f"{name} at {occluded.lowest_probability:.0%}).")
    return " ".join(parts)


def where_they_agree(explained: attribution.Explanation | None,
                     occluded: occlusion.Occlusion) -> str:
    """The agreement sentence of the three maps."""
    maps = agreement.where_maps(None if explained is None else explained.gradcam,
                                None if explained is None else explained.gradient,
                                occluded.heat)
    return agreement.compare(maps).sentence()


def correlations(trained: tuple, random: tuple) -> dict[str, float]:
    """Spearman's ρ between the trained and randomised network's maps: Grad-CAM (at its own
    resolution), saliency (signed, as shown), |gradient| and occlusion (at its positions)."""
    found = {"occlusion": sanity.spearman(trained[1].cells, random[1].cells)}
    if trained[0] is not None and random[0] is not None:
        alike = sanity.similarity(trained[0], random[0])
        found.update({"Grad-CAM": alike.gradcam, "saliency": alike.gradient,
                      "|gradient|": alike.saliency})
    return found


def rho_text(rho: float) -> str:
    """ρ with two decimals, three next to the threshold (0.4996 is not shown as 0.50);
    "undefined" for a flat map."""
    if np.isnan(rho):
        return "undefined"
    shown = f"{rho:.2f}"
    return f"{rho:.3f}" if float(shown) == DIFFERENT and rho != DIFFERENT else shown


def _verdict(rho: float) -> str:
    """"ρ = 0.12: changed" (below :data:`DIFFERENT`), "... barely changed", or undefined."""
    if np.isnan(rho):
        return "ρ undefined (a flat map)"
    return f"ρ = {rho_text(rho)}: {'changed' if rho < DIFFERENT else 'barely changed'}"


def sanity_check(run: Any, summary: shapes.Summary, image: np.ndarray, k: int,
                 layer: str | None, size: int, trained: tuple, key: str) -> None:
    """The switch, and the maps of the randomised network with how much each changed."""
    on = st.toggle("Sanity check: randomise the weights from a layer up and recompute every "
                   "map", key=f"{key}_sanity", help="Adebayo et al. 2018: a map that looks the "
                   "same for random weights describes the picture, not what the network "
                   "learned.")
    if not on:
        return
    layers = sanity.randomisable_layers(summary)
    start = st.selectbox("randomise from layer", layers, key=f"{key}_sanity_from",
                         format_func=lambda name: f"{name} up" + (
                             " (every layer)" if name == layers[0] else ""))
    with st.spinner("randomising the weights and recomputing the maps…"):
        random = _tools(run, summary, start).maps(image, k, layer, size)
    rho = correlations(trained, random)
    name = run.class_names[k]
    pictures(image, random[0], random[1], name, rho)
    shown = [m for m in ("Grad-CAM", "saliency", "occlusion") if m in rho]
    changed = [m for m in shown if rho[m] < DIFFERENT]
    kept = [m for m in shown if rho[m] >= DIFFERENT]
    said = (f"With the weights from {start} up random, "
            f"{agreement.listed(changed) or 'no map'} changed (rank correlation ρ with the "
            f"trained map below {DIFFERENT})")
    said += f"; {agreement.listed(kept)} barely did." if kept else "."
    st.markdown(text.md(said) + " A map that changes depends on what the network learned.")
    if "|gradient|" in rho and trained[0] is not None and random[0] is not None:
        lesson(image, trained[0], random[0], rho["|gradient|"])


def lesson(image: np.ndarray, trained: attribution.Explanation,
           random: attribution.Explanation, rho: float) -> None:
    """The classic saliency map, |gradient|, trained and randomised: why the page keeps the
    sign."""
    images.grid([overlay.heat_overlay(image, trained.saliency, 1),
                 overlay.heat_overlay(image, random.saliency, 1)],
                ["the classic saliency map, the gradient's size, of the trained network",
                 "the classic saliency map, the gradient's size, of the randomised network"],
                ["|gradient|, trained", f"|gradient|, random · ρ {rho_text(rho)}"],
                width=PICTURE_PX)
    if rho >= DIFFERENT:
        st.caption(f"The classic saliency map, the gradient's size, barely changes when the "
                   f"weights are random (ρ = {rho_text(rho)}): it mostly shows where your ink is. "
                   "That is why the saliency map above keeps the gradient's sign.")
    else:
        st.caption(f"Here even the gradient's size changed (ρ = {rho_text(rho)}); on the built-in "
                   "digits it usually does not (ρ about 0.64): there it mostly shows where the "
                   "ink is, which is why the saliency map above keeps the sign.")


def section(run: Any, image: np.ndarray, probs: np.ndarray | None, key: str) -> None:
    """The expander; ``image`` is the picture the model saw (uint8, grey or colour) and
    ``probs`` its probabilities with the run's final weights (None: predicted when open)."""
    box = st.expander(TITLE, key=f"{key}_cover", on_change="rerun", icon=":material/grid_on:")
    if not box.open:
        return
    with box:
        if probs is None:
            probs = state.predictor(run).probabilities(image)
        image = np.asarray(image)
        image = image[..., 0] if image.ndim == 3 and image.shape[2] == 1 else image
        summary = shapes.summarize(run.architecture, num_classes=len(run.class_names))
        tools = _tools(run, summary)
        cols = st.columns(3)
        with cols[0]:
            k = explain.class_box(run.class_names, probs, f"{key}_cover_class")
        layer = None
        if not isinstance(tools.explainer, str):
            with cols[1]:
                layer = explain.layer_box(tools.explainer, f"{key}_cover_layer")
        side = min(image.shape[:2])
        size = cols[2].slider("grey square's side (px)", 2, max(3, side // 2),
                              occlusion.default_size(*image.shape[:2]), key=f"{key}_cover_size")
        trained = tools.maps(image, k, layer, size)
        if isinstance(tools.explainer, str):
            st.info(text.md(f"No Grad-CAM or saliency map here: {tools.explainer}. Covering "
                            "needs no gradient, so the occlusion map is shown."))
        pictures(image, *trained, run.class_names[k])
        st.markdown(text.md(where_they_agree(*trained)))
        sanity_check(run, summary, image, k, layer, size, trained, key)
