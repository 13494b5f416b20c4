using DeepExtension.Core.Common;

namespace DeepExtension.Tests.Core;

public class ByteSizeTests
{
    [Theory]
    [InlineData(0L, "0 B")]
    [InlineData(1023L, "1023 B")]
    [InlineData(1536L, "1.5 KiB")]
    [InlineData(3L * 1024 * 1024, "3 MiB")]
    [InlineData(3_489_660_928L, "3.25 GiB")]
    public void Format_Sizes_BinaryUnitsWithAtMostTwoDecimals(long bytes, string expected) =>
        Assert.Equal(expected, ByteSize.Format(bytes));

    [Fact]
    public void Format_UnknownSize_Dash() => Assert.Equal("—", ByteSize.Format((long?)null));
}
