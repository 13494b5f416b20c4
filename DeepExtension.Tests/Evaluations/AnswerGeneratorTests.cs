using DeepExtension.Core.Datasets;
using DeepExtension.Core.Evaluations;
using DeepExtension.Jobs.Evaluations;
using DeepExtension.Tests.Support;

namespace DeepExtension.Tests.Evaluations;

[Collection(TorchCollection.Name)]
public class AnswerGeneratorTests
{
    private static EvaluationPrompt Prompt(long index, string question, string reference) =>
        new(index, [new DatasetMessage(DatasetRoles.User, question)], reference);

    [Theory]
    [MemberData(nameof(ReferenceModels.Names), MemberType = typeof(ReferenceModels))]
    public void Answer_GreedyBatchOfPromptsOfDifferentLengths_EqualsEachPromptAnsweredAlone(string model)
    {
        using var generator = new AnswerGenerator(ReferenceModels.PathOf(model), Path.Combine(ReferenceModels.PathOf(model), "adapter"));
        EvaluationPrompt[] prompts =
        [
            Prompt(0, "What is 2+2?", "4"),
            Prompt(1, "Name a colour of the sky on a clear day, in one word please.", "Blue"),
            Prompt(2, "Hi", "Hello"),
        ];

        var batched = generator.Answer(prompts, maxNewTokens: 10, temperature: 0, topP: 1, seed: 0, CancellationToken.None);
        var alone = prompts.Select(p => generator.Answer([p], maxNewTokens: 10, temperature: 0, topP: 1, seed: 0, CancellationToken.None).Single()).ToList();

        Assert.Equal(3, batched.Count);
        for (var i = 0; i < prompts.Length; i++)
        {
            Assert.Equal(alone[i].Text, batched[i].Text);
            Assert.Equal(alone[i].Tokens, batched[i].Tokens);
            Assert.Equal(alone[i].Stopped, batched[i].Stopped);
            Assert.Equal(alone[i].ReferenceTokens, batched[i].ReferenceTokens);
            Assert.Equal(alone[i].Loss!.Value, batched[i].Loss!.Value, 5);
        }
        Assert.True(batched.Sum(a => a.Tokens) > 0, "the model produced tokens");
    }
}
