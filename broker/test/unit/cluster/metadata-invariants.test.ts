import { describe, expect, it } from 'vitest';
import { imageViolations } from '../../../src/cluster/metadata-invariants.js';
import type { MetadataState, TopicImage } from '../../../src/cluster/metadata-state.js';
import { cluster, withTopic } from './fixtures.js';

describe('imageViolations', () => {
  it('finds nothing wrong in an image built by records', () => {
    expect(imageViolations(withTopic(cluster([1, 2, 3]), 't', [[1, 2], [2, 3]]))).toEqual([]);
  });

  it('names each broken property of a hand-made image', () => {
    const s = withTopic(cluster([1, 2, 3]), 't', [[1, 2]]);
    const t = s.topics.get('t') as TopicImage;
    const broken: MetadataState = {
      ...s,
      metadataVoters: [1, 1],
      topics: new Map([
        [
          't',
          {
            ...t,
            partitions: 2,
            partitionImages: [{ replicas: [1, 2, 4], leader: -2, leaderEpoch: 0, isr: [5], addingReplicas: [4], removingReplicas: [4] }],
          },
        ],
      ]),
    };
    expect(imageViolations(broken)).toEqual([
      'metadata voters [1,1] repeat a broker',
      't has 2 partitions but 1 images',
      't-0: isr broker 5 is not a replica',
      't-0: broker 4 is both added and removed',
      't-0: leader -2 epoch 0',
    ]);
  });
});
