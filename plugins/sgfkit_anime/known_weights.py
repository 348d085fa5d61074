"""Public checkpoints the anime plugin can load (torch-free: read by ``sgfkit weights``)."""
from __future__ import annotations

from sgfkit.weights import KnownWeights

_I2V_RELEASE = "https://github.com/rezoo/illustration2vec/releases/tag/v2.0.0"

I2V_TAG_MODEL = KnownWeights(
    component="illustration2vec",
    file_name="illust2vec_tag_ver200.caffemodel",
    description="illustration2vec v2.0.0 tag prediction net (Caffe, VGG-style, 1539 tags)",
    source=_I2V_RELEASE,
    license="MIT",
)

I2V_TAG_LIST = KnownWeights(
    component="illustration2vec",
    file_name="tag_list.json",
    description="illustration2vec v2.0.0 tag names (JSON list of 1539 strings; published gzipped as "
                "tag_list.json.gz, which sgfkit also reads)",
    source=_I2V_RELEASE,
    license="MIT",
)

KNOWN_WEIGHTS: dict[str, KnownWeights] = {
    "illustration2vec-tag-model": I2V_TAG_MODEL,
    "illustration2vec-tag-list": I2V_TAG_LIST,
}
