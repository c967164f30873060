package awsquery

// Tag is the key-value pair of STS session tags and IAM resource tags, both
// on the wire in (Tags.member.N.Key, Tags.member.N.Value) and in responses
// (<Tags><member><Key/><Value/></member></Tags> with `xml:"Tags>member"`).
type Tag struct {
	Key   string `query:"Key" xml:"Key"`
	Value string `query:"Value" xml:"Value"`
}

// PolicyDescriptor is one entry of STS's PolicyArns list:
// PolicyArns.member.N.arn, with a lower-case "arn".
type PolicyDescriptor struct {
	ARN string `query:"arn" xml:"arn"`
}
