"""Self-supervised pretraining on a project's own unlabelled pool (no labels, no downloads).

`pretrain_encoder` learns the backbone of any classification network in the model registry from
the pool's images alone; the state dict it returns loads into the supervised model (head
excluded) through the transfer-learning path (ml_worker.models.load_pretrained). Decision 0410
records why SimCLR-style contrastive learning is the default.
"""

from ml_worker.pretraining.contrastive import (
    METHODS,
    PretrainConfig,
    PretrainReport,
    encoder_embeddings,
    encoder_state,
    pretrain_encoder,
    pretrain_model,
)

__all__ = [
    "METHODS",
    "PretrainConfig",
    "PretrainReport",
    "encoder_embeddings",
    "encoder_state",
    "pretrain_encoder",
    "pretrain_model",
]
