using DeepExtension.Core.Runs;
using DeepExtension.Web.Components.Controls;

namespace DeepExtension.Tests.Web;

public class MetricChartPointsTests
{
    [Theory]
    [InlineData(0, MetricSeries.MaxPoints)]      // width unknown (not measured): the fixed budget
    [InlineData(120, 400)]                        // a tiny chart still gets a readable line
    [InlineData(641, 700)]                        // a half-width chart at 1440 px: rounded up to hundreds
    [InlineData(1300, 1300)]
    [InlineData(3840, MetricSeries.MaxPoints)]    // never more than the fixed budget
    public void PointsFor_ChartWidth_IsAboutOnePointPerPixelWithinBounds(int width, int expected)
    {
        Assert.Equal(expected, MetricChart.PointsFor(width));
    }
}
