"""Shapes of the delivery API (API.md "Delivery"): JSON in and out, no rules."""
from rest_framework import serializers


# statements ----------------------------------------------------------------------------------------------

class StatementSerializer(serializers.Serializer):
    """One operator's month at one store (API.md); `adjustments` is commission of earlier months'
    orders changed after their close (cancels negative; late reports positive, our addition)."""
    store = serializers.IntegerField(source="store_id", help_text="the store's id")
    month = serializers.CharField(help_text="YYYY-MM (Asia/Seoul)")
    status = serializers.CharField(help_text="draft (the month is still open: figures move) | issued (final)")
    order_count = serializers.IntegerField()
    food_total = serializers.IntegerField(help_text="KRW, the delivery fee not included")
    commission = serializers.IntegerField(help_text="KRW: the sum of each order's floor(food × rate)")
    commercial_commission_low = serializers.IntegerField(help_text="floor(food_total × 6 %)")
    commercial_commission_high = serializers.IntegerField(help_text="floor(food_total × 12 %)")
    saved_low = serializers.IntegerField(help_text="commercial_commission_low − commission")
    saved_high = serializers.IntegerField(help_text="commercial_commission_high − commission")
    adjustments = serializers.IntegerField(help_text="KRW of commission: − late cancels, + late reports")
    adjustment_count = serializers.IntegerField()


class SavingsSerializer(serializers.Serializer):
    month = serializers.CharField()
    order_count = serializers.IntegerField()
    food_total = serializers.IntegerField()
    commission = serializers.IntegerField(help_text="commission the stores paid (KRW)")
    saved_low = serializers.IntegerField(help_text="what 6 % apps would have charged, less commission")
    saved_high = serializers.IntegerField(help_text="what 12 % apps would have charged, less commission")
