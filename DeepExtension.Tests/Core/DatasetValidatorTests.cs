using DeepExtension.Core.Datasets;
using DeepExtension.Tests.Support;
using static DeepExtension.Tests.Support.DatasetFiles;

namespace DeepExtension.Tests.Core;

public class DatasetValidatorTests
{
    public static TheoryData<string, string, DatasetFormat, long> ValidFiles => new()
    {
        { "alpaca.jsonl", Lines("""{"instruction":"Add","input":"2+2","output":"4"}""", """{"instruction":"Greet","output":"Hi","system":"Be kind"}"""), DatasetFormat.Alpaca, 2 },
        { "alpaca.json", """
            [
              {"instruction": "Add", "input": "2+2", "output": "4"},
              {"instruction": "Greet", "input": "", "output": "Hi"}
            ]
            """, DatasetFormat.Alpaca, 2 },
        { "alpaca.csv", "instruction,input,output\nAdd,2+2,4\n\"Say \"\"hi\"\"\",,\"Hi,\nthere\"\n", DatasetFormat.Alpaca, 2 },
        { "chat.jsonl", Lines("""{"messages":[{"role":"system","content":"s"},{"role":"user","content":"u"},{"role":"assistant","content":"a"}]}"""), DatasetFormat.Chat, 1 },
        { "chat.json", """[{"messages":[{"role":"user","content":"u"},{"role":"assistant","content":"a"}]}]""", DatasetFormat.Chat, 1 },
        { "sharegpt.jsonl", Lines("""{"conversations":[{"from":"human","value":"u"},{"from":"gpt","value":"a"}]}"""), DatasetFormat.ShareGpt, 1 },
        { "sharegpt.json", """[{"conversations":[{"from":"system","value":"s"},{"from":"human","value":"u"},{"from":"gpt","value":"a"}]}]""", DatasetFormat.ShareGpt, 1 },
        { "pref.jsonl", Lines("""{"prompt":"Q","chosen":"good","rejected":"bad"}""", """{"prompt":[{"role":"user","content":"Q"}],"chosen":[{"role":"assistant","content":"good"}],"rejected":[{"role":"assistant","content":"bad"}]}"""), DatasetFormat.Preference, 2 },
        { "pref.json", """[{"prompt":"Q","chosen":"good","rejected":"bad"}]""", DatasetFormat.Preference, 1 },
        { "pref.csv", "prompt,chosen,rejected\nQ,good,bad\nQ2,yes,no\n", DatasetFormat.Preference, 2 },
        { "grpo.jsonl", Lines("""{"prompt":"2+2?","answer":"4"}""", """{"prompt":"3+3?","answer":6}"""), DatasetFormat.PromptAnswer, 2 },
        { "grpo.json", """[{"prompt":"2+2?","solution":"4"},{"prompt":"x?","reference":"y"}]""", DatasetFormat.PromptAnswer, 2 },
        { "grpo.csv", "prompt,answer\n2+2?,4\n", DatasetFormat.PromptAnswer, 1 },
    };

    [Theory]
    [MemberData(nameof(ValidFiles))]
    public async Task Inspect_ValidFileOfEachLayoutAndType_DetectsTheLayoutAndCountsRows(string fileName, string content, DatasetFormat format, long rows)
    {
        var inspection = await InspectAsync(fileName, content);

        Assert.True(inspection.IsValid, string.Join("\n", inspection.ErrorMessages));
        Assert.Equal(format, inspection.DetectedFormat);
        Assert.Equal(format, inspection.Format);
        Assert.Equal(rows, inspection.RowCount);
        Assert.Equal(rows, inspection.Preview.Count);
        Assert.All(inspection.Preview, e => Assert.Equal(DatasetFormats.KindOf(format), e.Kind));
        Assert.Equal(System.Text.Encoding.UTF8.GetByteCount(content), inspection.SizeBytes);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(content))), inspection.Sha256);
    }

    [Fact]
    public async Task Inspect_JsonlWithBlankLinesAndAMissingKey_ReportsThePhysicalLine()
    {
        var content = Lines(
            """{"instruction":"a","output":"b"}""",
            "",
            """{"instruction":"c","output":"d"}""",
            "   ",
            """{"instruction":"e","input":"f"}""");

        var inspection = await InspectAsync("data.jsonl", content);

        Assert.False(inspection.IsValid);
        Assert.Equal(["line 5: missing \"output\""], inspection.ErrorMessages);
        Assert.Equal(3, inspection.RowCount);
    }

    [Fact]
    public async Task Inspect_JsonlWithBrokenJson_ReportsInvalidJsonWithItsLine()
    {
        var inspection = await InspectAsync("data.jsonl", Lines("""{"instruction":"a","output":"b"}""", """{"instruction":"a" "output":"b"}"""));

        var error = Assert.Single(inspection.Errors);
        Assert.Equal(2, error.Line);
        Assert.StartsWith("line 2: invalid JSON", error.ToString());
        Assert.DoesNotContain("LineNumber", error.Message);
    }

    [Fact]
    public async Task Inspect_ChatWithBadRoleEmptyContentAndWrongTypes_ReportsEachPrecisely()
    {
        var content = Lines(
            """{"messages":[{"role":"user","content":"u"},{"role":"assistant","content":"a"},{"role":"bot","content":"x"}]}""",
            """{"messages":[{"role":"user","content":""},{"role":"assistant","content":"a"}]}""",
            """{"messages":"hello"}""",
            """{"messages":[{"role":"user","content":42},{"role":"assistant","content":"a"}]}""",
            """{"messages":[{"role":"user","content":"only a question"}]}""");

        var inspection = await InspectAsync("chat.jsonl", content);

        Assert.Equal(
        [
            "line 1: messages[2].role must be one of system, user, assistant, tool",
            "line 2: messages[0].content is empty",
            "line 3: \"messages\" must be a list of {role, content} objects, not text",
            "line 4: messages[0].content must be text, not a number",
            "line 5: \"messages\" has no assistant message to learn from",
        ], inspection.ErrorMessages);
        Assert.Equal(DatasetFormat.Chat, inspection.Format);
    }

    [Fact]
    public async Task Inspect_ShareGptWithUnknownSpeaker_ReportsTheAllowedValues()
    {
        var inspection = await InspectAsync("sg.jsonl", Lines("""{"conversations":[{"from":"human","value":"u"},{"from":"robot","value":"a"}]}"""));

        Assert.Equal(["line 1: conversations[1].from must be one of system, human, gpt (or user, assistant, tool)"], inspection.ErrorMessages);
    }

    [Fact]
    public async Task Inspect_PreferenceWithIdenticalPair_ReportsIt()
    {
        var content = Lines(
            """{"prompt":"p","chosen":"a","rejected":"b"}""",
            """{"prompt":"p","chosen":"a","rejected":"b"}""",
            """{"prompt":"p","chosen":"a","rejected":"b"}""",
            """{"prompt":"p","chosen":"same","rejected":"same"}""",
            """{"prompt":"p","chosen":"a"}""");

        var inspection = await InspectAsync("pref.jsonl", content);

        Assert.Equal(["line 4: \"chosen\" and \"rejected\" are identical", "line 5: missing \"rejected\""], inspection.ErrorMessages);
    }

    [Fact]
    public async Task Inspect_MixedLayouts_ReportsTheRowsThatDiffer()
    {
        var content = Lines(
            """{"instruction":"a","output":"b"}""",
            """{"messages":[{"role":"user","content":"u"},{"role":"assistant","content":"a"}]}""",
            """{"instruction":"c","output":"d"}""");

        var inspection = await InspectAsync("mixed.jsonl", content);

        Assert.Equal(DatasetFormat.Alpaca, inspection.Format);
        Assert.Equal(["line 2: this row is in the Chat layout but the file is Alpaca (mixed layouts)"], inspection.ErrorMessages);
    }

    [Fact]
    public async Task Inspect_PromptAnswerProblems_AreReported()
    {
        var content = Lines(
            """{"prompt":"q","answer":""}""",
            """{"prompt":"q","answer":["x"]}""",
            """{"prompt":"","answer":"4"}""");

        var inspection = await InspectAsync("grpo.jsonl", content, DatasetFormat.PromptAnswer);

        Assert.Equal(["line 1: \"answer\" is empty", "line 2: \"answer\" must be text or a number, not a list", "line 3: \"prompt\" is empty"], inspection.ErrorMessages);
    }

    [Fact]
    public async Task Inspect_UserChosenLayoutThatDoesNotFit_SaysWhichLayoutTheRowsAreIn()
    {
        var inspection = await InspectAsync("data.jsonl", Lines("""{"instruction":"a","output":"b"}"""), DatasetFormat.PromptAnswer);

        Assert.Equal(DatasetFormat.Alpaca, inspection.DetectedFormat);
        Assert.Equal(DatasetFormat.PromptAnswer, inspection.Format);
        Assert.Equal(["line 1: this row is in the Alpaca layout, not Prompt + answer"], inspection.ErrorMessages);
    }

    [Fact]
    public async Task Inspect_UnknownKeys_SaysWhichLayoutsAreExpected()
    {
        var inspection = await InspectAsync("data.jsonl", Lines("""{"question":"a","response":"b"}"""));

        Assert.Null(inspection.Format);
        Assert.Equal("line 1: not a recognised layout (keys: question, response)", inspection.ErrorMessages[0]);
        Assert.Contains("No row matches a known layout", inspection.ErrorMessages[1]);
    }

    [Fact]
    public async Task Inspect_JsonFileHoldingJsonLines_IsReadLineByLineAndStoredAsJsonl()
    {
        var inspection = await InspectAsync("export.json", "\n" + Lines("""{"prompt":"a","answer":"1"}""", """{"prompt":"b"}"""));

        Assert.Equal(DatasetFileType.Jsonl, inspection.FileType);
        Assert.Equal(["line 3: missing \"answer\" (or \"reference\" / \"solution\")"], inspection.ErrorMessages);
        Assert.Equal(2, inspection.RowCount);
    }

    [Fact]
    public async Task Inspect_PrettyPrintedSingleObjectInJson_ExplainsTheExpectedShapes()
    {
        var inspection = await InspectAsync("one.json", "{\n  \"prompt\": \"a\",\n  \"answer\": \"1\"\n}\n");

        var error = Assert.Single(inspection.Errors);
        Assert.Equal(1, error.Line);
        Assert.EndsWith("a .json file must hold one array of records ([{...}, {...}]) or one record per line", error.Message);
    }

    [Fact]
    public async Task Inspect_CapitalisedCsvHeader_MatchesTheLayoutKeys()
    {
        var inspection = await InspectAsync("grpo.csv", "Prompt,Answer\nq,1\n");

        Assert.True(inspection.IsValid, string.Join("\n", inspection.ErrorMessages));
        Assert.Equal(DatasetFormat.PromptAnswer, inspection.Format);
    }

    [Fact]
    public async Task Inspect_ChatContentParts_JoinsTextPartsAndRefusesImages()
    {
        var content = Lines(
            """{"messages":[{"role":"user","content":[{"type":"text","text":"Look"},{"type":"text","text":"closely"}]},{"role":"assistant","content":"Done"}]}""",
            """{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]},{"role":"assistant","content":"A cat"}]}""");

        var inspection = await InspectAsync("parts.jsonl", content);

        Assert.Equal(["line 2: messages[0].content[0] is a \"image_url\" part; only text parts are supported"], inspection.ErrorMessages);
        Assert.Equal("Look\nclosely", ((SftExample)inspection.Preview[0]).Messages[0].Content);
    }

    [Fact]
    public async Task Inspect_PrettyPrintedJsonArray_ReportsTheLineEachBadRecordStartsOn()
    {
        var content = """
            [
              {
                "instruction": "a",
                "output": "b"
              },
              {
                "instruction": "c"
              },
              {
                "instruction": "e",
                "output": 5
              }
            ]
            """;

        var inspection = await InspectAsync("data.json", content);

        Assert.Equal(["line 6: missing \"output\"", "line 9: \"output\" must be text, not a number"], inspection.ErrorMessages);
        Assert.Equal(3, inspection.RowCount);
    }

    [Fact]
    public async Task Inspect_JsonArrayWithBrokenRecord_ReportsTheLineInsideTheRecord()
    {
        var content = "[\n  {\"instruction\": \"a\",\n   \"output\" \"b\"},\n  {\"instruction\": \"c\", \"output\": \"d\"}\n]";

        var inspection = await InspectAsync("data.json", content);

        var error = Assert.Single(inspection.Errors);
        Assert.Equal(3, error.Line);
        Assert.StartsWith("invalid JSON", error.Message);
        Assert.Equal(2, inspection.RowCount);
    }

    [Theory]
    [InlineData("{\n  \"instruction\": \"a\",\n  \"output\": \"b\"\n}", "line 1: invalid JSON")]
    [InlineData("\"text\"", "line 1: a .json file must hold one array of records ([{...}, {...}]) or one record per line")]
    [InlineData("[{\"instruction\":\"a\",\"output\":\"b\"},\n", "line 2: invalid JSON: the array is not closed")]
    [InlineData("[{\"instruction\":\"a\",\"output\":\"b\"},]", "line 1: invalid JSON: a ',' is followed by ']' (trailing comma)")]
    [InlineData("[{\"instruction\":\"a\",\"output\":\"b\"}\n{\"instruction\":\"a\",\"output\":\"b\"}]", "line 2: invalid JSON: expected ',' or ']'")]
    [InlineData("[\n\"text\"]", "line 2: expected a JSON object, found text")]
    [InlineData("[]", "The file holds no rows.")]
    public async Task Inspect_MalformedJsonArray_ExplainsWhere(string content, string expected)
    {
        var inspection = await InspectAsync("data.json", content);

        Assert.StartsWith(expected, inspection.ErrorMessages[0]);
    }

    [Fact]
    public async Task Inspect_CsvWithEmbeddedNewlinesAndAShortRecord_ReportsTheRecordsStartingLine()
    {
        var content = "prompt,chosen,rejected\n\"multi\nline\nprompt\",good,bad\n\"another\nprompt\",only-two\nq,a,b\n";

        var inspection = await InspectAsync("pref.csv", content);

        Assert.Equal(["line 5: 2 fields, but the header (line 1) has 3 columns"], inspection.ErrorMessages);
        Assert.Equal(3, inspection.RowCount);
        var first = Assert.IsType<PreferenceExample>(inspection.Preview[0]);
        Assert.Equal("multi\nline\nprompt", first.Prompt.Single().Content);
        Assert.Equal(2, first.Line);
        Assert.Equal(7, inspection.Preview[1].Line);
    }

    [Fact]
    public async Task Inspect_CsvWithUnclosedQuote_ReportsTheRecordStart()
    {
        var inspection = await InspectAsync("a.csv", "instruction,output\nq,a\n\"open,b\nc,d\n");

        Assert.Equal(["line 3: a quoted field is not closed before the end of the file"], inspection.ErrorMessages);
    }

    [Fact]
    public async Task Inspect_ChatLayoutChosenForCsv_IsRefused()
    {
        var inspection = await InspectAsync("a.csv", "instruction,output\nq,a\n", DatasetFormat.Chat);

        Assert.False(inspection.IsValid);
        Assert.Contains("upload it as .jsonl or .json, not CSV", inspection.ErrorMessages[0]);
    }

    [Fact]
    public async Task Inspect_UnsupportedExtension_IsRefused()
    {
        var inspection = await InspectAsync("data.txt", "hello");

        Assert.Equal(["data.txt: use a .jsonl, .json or .csv file."], inspection.ErrorMessages);
    }

    [Fact]
    public async Task Inspect_MoreThanTheErrorLimit_ListsTheFirstAndCountsTheRest()
    {
        var lines = Enumerable.Range(0, 80).Select(_ => """{"instruction":"a"}""").ToArray();

        var inspection = await InspectAsync("data.jsonl", Lines(lines));

        Assert.Equal(DatasetValidator.MaxErrors, inspection.Errors.Count);
        Assert.Equal(30, inspection.MoreErrors);
        Assert.Equal("and 30 more errors", inspection.ErrorMessages[^1]);
        Assert.Equal("line 50: missing \"output\"", inspection.ErrorMessages[^2]);
    }

    [Theory]
    [InlineData("a.jsonl", "\uFEFF{\"instruction\":\"a\",\"output\":\"b\"}\r\n\r\n{\"instruction\":\"c\",\"output\":\"d\"}\r\n")]
    [InlineData("a.json", "\uFEFF[\r\n{\"instruction\":\"a\",\"output\":\"b\"},\r\n{\"instruction\":\"c\",\"output\":\"d\"}\r\n]\r\n")]
    [InlineData("a.csv", "\uFEFFinstruction,output\r\na,b\r\n\r\n\"c\",\"d\"\r\n")]
    public async Task Inspect_ByteOrderMarkAndWindowsLineEndings_AreAccepted(string fileName, string content)
    {
        var inspection = await InspectAsync(fileName, content);

        Assert.True(inspection.IsValid, string.Join("\n", inspection.ErrorMessages));
        Assert.Equal(2, inspection.RowCount);
        Assert.Equal("a", ((SftExample)inspection.Preview[0]).Messages[0].Content);
        Assert.Equal("d", ((SftExample)inspection.Preview[1]).Messages[1].Content);
    }

    [Fact]
    public async Task Inspect_LineLongerThanTheRecordLimit_IsReportedWithoutBufferingItAndTheRestIsChecked()
    {
        var path = WriteTemp("huge.jsonl", "");
        await using (var writer = new StreamWriter(path))
        {
            await writer.WriteLineAsync("""{"instruction":"a","output":"b"}""");
            await writer.WriteAsync("""{"instruction":"a","output":" """);
            await writer.WriteAsync(new string('x', DatasetRecordSourceLimit + 1));
            await writer.WriteLineAsync("\"}");
            await writer.WriteLineAsync("""{"instruction":"a"}""");
        }
        await using var stream = File.OpenRead(path);

        var inspection = await DatasetValidator.InspectAsync(stream, "huge.jsonl");

        Assert.Equal(["line 2: the line is longer than 16 MB", "line 3: missing \"output\""], inspection.ErrorMessages);
        Assert.Equal(3, inspection.RowCount);
        Directory.Delete(Path.GetDirectoryName(path)!, recursive: true);
    }

    private const int DatasetRecordSourceLimit = 16 * 1024 * 1024;

    [Fact]
    public async Task Inspect_LargeJsonArrayAndCsv_RecordsSpanningReadBuffersKeepTheirLines()
    {
        const int rows = 30_000;
        var json = new System.Text.StringBuilder("[\n");
        var csv = new System.Text.StringBuilder("prompt,chosen,rejected\n");
        for (var i = 0; i < rows; i++)
        {
            json.Append($$"""  {"prompt": "Question {{i}} with some padding text to cross buffer boundaries", "answer": "{{i}}"}{{(i < rows - 1 ? "," : "")}}""").Append('\n');
            csv.Append($"\"Question {i}\nsecond line, with a comma\",\"yes \"\"{i}\"\"\",no {i}\n");
        }
        json.Append("]\n");

        var jsonInspection = await InspectAsync("big.json", json.ToString());
        var csvInspection = await InspectAsync("big.csv", csv.ToString());

        Assert.True(jsonInspection.IsValid, string.Join("\n", jsonInspection.ErrorMessages));
        Assert.Equal(rows, jsonInspection.RowCount);
        Assert.True(csvInspection.IsValid, string.Join("\n", csvInspection.ErrorMessages));
        Assert.Equal(rows, csvInspection.RowCount);
        Assert.Equal("yes \"4\"", ((PreferenceExample)csvInspection.Preview[4]).Chosen[0].Content);

        // The last record of each starts where its line says, far past the first read buffer.
        var lastJson = await ReadAsync("big.json", json.ToString(), DatasetFormat.PromptAnswer);
        Assert.Equal(rows + 1, lastJson[^1].Line);
        var lastCsv = await ReadAsync("big.csv", csv.ToString(), DatasetFormat.Preference);
        Assert.Equal(2 + (rows - 1) * 2, lastCsv[^1].Line);
    }

    [Fact]
    public async Task Inspect_LargeJsonlFile_StreamsItAndCountsEveryRow()
    {
        const int rows = 200_000;
        var path = WriteTemp("large.jsonl", "");
        await using (var writer = new StreamWriter(path))
        {
            for (var i = 0; i < rows; i++)
            {
                await writer.WriteLineAsync($$"""{"messages":[{"role":"user","content":"Question number {{i}}: what is {{i}} + {{i}}?"},{"role":"assistant","content":"The answer is {{2 * i}}."}]}""");
            }
        }
        var size = new FileInfo(path).Length;
        Assert.True(size > 20_000_000);

        await using var stream = File.OpenRead(path);
        var reported = new List<long>();
        var inspection = await DatasetValidator.InspectAsync(stream, "large.jsonl", progress: new ListProgress(reported));

        Assert.True(inspection.IsValid, string.Join("\n", inspection.ErrorMessages));
        Assert.Equal(rows, inspection.RowCount);
        Assert.True(reported.Count >= 2, $"{reported.Count} progress reports");
        Assert.Equal(reported.Order(), reported);
        Assert.True(reported[^1] <= size);
        Assert.Equal(size, inspection.SizeBytes);
        Assert.Equal(DatasetValidator.DefaultPreviewRows, inspection.Preview.Count);
        Directory.Delete(Path.GetDirectoryName(path)!, recursive: true);
    }

    private sealed class ListProgress(List<long> reports) : IProgress<long>
    {
        public void Report(long value) => reports.Add(value);
    }
}
