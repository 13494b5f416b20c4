using DeepExtension.Core.Datasets;
using DeepExtension.Jobs.Engine.Tokenization;
using DeepExtension.Jobs.Runs.Training;
using DeepExtension.Tests.Support;

namespace DeepExtension.Tests.Runs;

public class TrainingDataTests
{
    private static readonly SftExample Chat = new(0, 1, [new(DatasetRoles.User, "What is 2 plus one?"), new(DatasetRoles.Assistant, "3")]);

    private static TrainingData Data(int maxTokens = 256, bool responsesOnly = true, string? system = null)
    {
        var folder = ReferenceModels.BundledPathOf("tiny-qwen2");
        return new TrainingData(HfTokenizer.Load(folder), ChatTemplate.Load(folder), system, maxTokens, responsesOnly);
    }

    [Fact]
    public void Sft_ResponsesOnly_LabelsOnlyTheAssistantTurn()
    {
        var example = Data().Sft(Chat)!;

        Assert.True(TrainingData.LabelCount(example) > 0);
        Assert.True(TrainingData.LabelCount(example) < example.InputIds.Length / 2);
    }

    [Fact]
    public void Sft_AllTokens_LabelsEveryToken()
    {
        var example = Data(responsesOnly: false).Sft(Chat)!;

        Assert.Equal(example.InputIds, example.Labels);
    }

    [Fact]
    public void Sft_SystemPrompt_IsAddedWhenTheExampleHasNone()
    {
        var folder = ReferenceModels.BundledPathOf("tiny-qwen2");
        var tokenizer = HfTokenizer.Load(folder);

        var example = Data(system: "Answer with digits.").Sft(Chat)!;

        Assert.Contains("Answer with digits.", tokenizer.Decode(example.InputIds));
    }

    [Fact]
    public void Sft_AnswerBeyondMaxTokens_IsSkippedAndCounted()
    {
        var data = Data(maxTokens: 4);

        Assert.Null(data.Sft(Chat));
        Assert.Equal(1, data.Skipped);
        Assert.Equal(1, data.Truncated);
    }

    [Fact]
    public void Preference_PromptTokens_AreNeverTargets()
    {
        var pair = Data().Preference(new PreferenceExample(0, 1, [new(DatasetRoles.User, "Pick one")],
            [new(DatasetRoles.Assistant, "good")], [new(DatasetRoles.Assistant, "bad")]))!;

        var promptLength = pair.Chosen.InputIds.Zip(pair.Rejected.InputIds).TakeWhile(p => p.First == p.Second).Count();
        Assert.All(pair.Chosen.Labels.Take(promptLength - 1), l => Assert.Equal(SupervisedExample.IgnoreIndex, l));
        Assert.True(TrainingData.LabelCount(pair.Chosen) > 0 && TrainingData.LabelCount(pair.Rejected) > 0);
    }
}
