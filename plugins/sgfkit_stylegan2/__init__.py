"""sgfkit bundled plugin: stylegan2 (real StyleGAN2 checkpoints).

Modules: ``plugin`` (torch-free registrations and known weights), ``generator`` (the ``stylegan2``
component), ``networks`` / ``ops`` (the architecture in pure PyTorch), ``checkpoints`` (format
detection, loaders, shape checks), ``nvlabs_pickle`` / ``tf_pickle`` (restricted readers of NVlabs
pickles).
"""
