"""One logit per class for the heads of the ranking losses.

mmdet's dense heads size their classifier from the loss config, before the
loss is built: ``loss_cls.get('use_sigmoid', False)``, so a config that
leaves ``use_sigmoid`` out gets C + 1 outputs, and the background index C
becomes a class of its own, every anchor a positive of the ranking. The
ranking losses know only the sigmoid form, so their heads default it to
True (:func:`sigmoid_loss_cls`) and check the classifier's width once built
(:func:`check_one_logit_per_class`).
"""


def sigmoid_loss_cls(kwargs: dict) -> dict:
    """The head's keyword arguments with ``loss_cls.use_sigmoid`` defaulting
    to True (a value given stays, for the loss to check)."""
    if 'loss_cls' in kwargs:
        loss_cls = dict(kwargs['loss_cls'])
        loss_cls.setdefault('use_sigmoid', True)
        kwargs = dict(kwargs, loss_cls=loss_cls)
    return kwargs


def check_one_logit_per_class(head) -> None:
    """Raises ValueError unless the classifier has one output per class."""
    if head.cls_out_channels != head.num_classes:
        raise ValueError(
            f'{type(head).__name__}: loss_cls.use_sigmoid must be True (one '
            f'logit per class, no background output): the classifier has '
            f'{head.cls_out_channels} outputs for num_classes='
            f'{head.num_classes}')
