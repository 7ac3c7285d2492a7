"""What the two ranking groups are called in every table and document."""

GROUP_LABELS = {"district": "旗县区、稀土高新区", "department": "市直部门、单位"}
