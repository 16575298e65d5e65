import { Injectable } from '@nestjs/common';
import { InjectApiClient, type ApiClient } from '@tokenfetch/nestjs';

export interface Me {
  email: string;
  currentOrg: { id: number };
}

@Injectable()
export class AppService {
  constructor(@InjectApiClient() private readonly api: ApiClient) {}

  me(): Promise<Me> {
    return this.api.json<Me>('/user/users/me');
  }
}
