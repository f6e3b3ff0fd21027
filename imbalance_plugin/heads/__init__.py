"""Registered heads of the plugin; importing this package registers them."""
from .ohem_retina_head import OHEMRetinaHead  # noqa: F401
from .pisa_retina_head import PISARetinaHead  # noqa: F401
from .pisa_roi_head import PISARoIHead  # noqa: F401
from .pisa_ssd_head import PISASSDHead  # noqa: F401
from .rank_sort_atss_head import RankSortATSSHead  # noqa: F401
from .rank_sort_bbox_head import RankSortBBoxHead  # noqa: F401
from .rank_sort_mask_head import RankSortMaskHead  # noqa: F401
from .rank_sort_roi_head import RankSortRoIHead  # noqa: F401
from .rank_sort_rpn_head import RankSortRPNHead  # noqa: F401
from .ranking_retina_head import (  # noqa: F401
    RankingRetinaHead,
    aLRPRetinaHead,
)
from .ssd_head import SSDHead  # noqa: F401
