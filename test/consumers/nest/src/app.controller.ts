import { Controller, Get } from '@nestjs/common';
import { ApiFetchParam, type ApiFetch } from '@tokenfetch/nestjs';
import { AppService, type Me } from './app.service';

@Controller()
export class AppController {
  constructor(private readonly appService: AppService) {}

  @Get('me')
  me(): Promise<Me> {
    return this.appService.me();
  }

  @Get('widgets')
  async widgets(@ApiFetchParam() apiFetch: ApiFetch): Promise<unknown> {
    return (await apiFetch('/widgets')).json();
  }
}
